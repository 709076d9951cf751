// deploy/controller: `up` returns only once a new controller's /metrics answers
// (bounded), on the fake engine, clock and a scripted host GET.
#include "deploy/controller.hpp"
#include "fakes.hpp"
#include "plan/labels.hpp"
#include "util/output.hpp"

#include <doctest/doctest.h>

namespace mldeploy::test {
namespace {

stack::Stack measured_stack() {
    stack::Stack s;
    s.name = "ctl";
    s.network = "ctl_net";
    s.balancer.port = 9090;
    s.metrics = stack::Metrics{9464, "0.0.0.0"};
    return s;
}

// host_get answers nothing (a published port with nobody behind it) for the first
// `silent` calls, then 200; counts the calls and the URL asked.
class ScriptedGet : public deploy::Prober {
public:
    explicit ScriptedGet(int silent) : silent_(silent) {}
    deploy::ProbeResult container_get(const std::string&, int, const std::string&, std::chrono::milliseconds) override {
        return {0, "not used", ""};
    }
    deploy::ProbeResult host_get(const std::string& url, std::chrono::milliseconds) override {
        url_ = url;
        if (++calls_ <= silent_) return {0, "Empty reply from server", ""};
        return {200, "", "# HELP"};
    }
    int calls() const { return calls_; }
    const std::string& url() const { return url_; }

private:
    int silent_;
    int calls_ = 0;
    std::string url_;
};

}  // namespace

TEST_SUITE("controller: up waits until /metrics answers") {
    TEST_CASE("a wildcard host_ip is reached on loopback") {
        CHECK(deploy::metrics_url(stack::Metrics{9464, "0.0.0.0"}) == "http://127.0.0.1:9464/metrics");
        CHECK(deploy::metrics_url(stack::Metrics{9464, "::"}) == "http://[::1]:9464/metrics");
        CHECK(deploy::metrics_url(stack::Metrics{9500, "10.0.0.5"}) == "http://10.0.0.5:9500/metrics");
    }

    TEST_CASE("a new controller is polled until it answers 200, then up goes on") {
        FakeClock clock;
        FakeEngine engine{&clock};
        engine.add_image("docker.io/library/nginx:stable", "sha256:nginx");
        engine.add_network("ctl_net", {});
        util::Output out{util::Output::Level::quiet, false};
        ScriptedGet get(5);
        const auto s = measured_stack();
        deploy::sync_controller(engine, s, out, {&get, &clock});
        CHECK(get.calls() == 6);
        CHECK(get.url() == "http://127.0.0.1:9464/metrics");
        CHECK(clock.slept() == std::chrono::milliseconds(500));
        CHECK(engine.list_containers({{plan::label::stack, "ctl"}, {plan::label::role, plan::label::role_controller}})
                  .size() == 1);

        SUBCASE("a controller that is kept as it runs is not waited for again") {
            ScriptedGet again(0);
            deploy::sync_controller(engine, s, out, {&again, &clock});
            CHECK(again.calls() == 0);
        }
    }

    TEST_CASE("a controller that never answers costs the budget and a warning, not a failed up") {
        FakeClock clock;
        FakeEngine engine{&clock};
        engine.add_image("docker.io/library/nginx:stable", "sha256:nginx");
        engine.add_network("ctl_net", {});
        util::Output out{util::Output::Level::quiet, false};
        ScriptedGet get(1 << 30);
        deploy::ControllerWait wait{&get, &clock, std::chrono::milliseconds(3000)};
        CHECK_NOTHROW(deploy::sync_controller(engine, measured_stack(), out, wait));
        CHECK(clock.slept() >= std::chrono::milliseconds(3000));
        CHECK(clock.slept() < std::chrono::milliseconds(3200));
        CHECK(engine.list_containers({{plan::label::stack, "ctl"}, {plan::label::role, plan::label::role_controller}})
                  .size() == 1);
    }
}

}  // namespace mldeploy::test
