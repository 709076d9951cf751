// A stack and the fakes it is deployed on, shared by the deploy layer's tests
// (executor_test.cpp, session_test.cpp).
#pragma once

#include "deploy/session.hpp"
#include "fakes.hpp"
#include "plan/labels.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mldeploy::test {

// "demo": one service llm (port 8000, a short health budget) behind a balancer on port 9090.
inline stack::Stack demo_stack(int replicas = 2) {
    stack::Stack s;
    s.name = "demo";
    s.network = "demo_net";
    stack::Service llm;
    llm.name = "llm";
    llm.image = "acme/llm:1";
    llm.port = 8000;
    llm.replicas = replicas;
    stack::Health health;
    health.path = "/healthz";
    health.start_period = std::chrono::seconds(2);
    health.interval = std::chrono::seconds(1);
    health.retries = 2;
    llm.health = health;
    llm.env = {{"MODEL", "v1"}};
    s.services = {llm};
    s.balancer.port = 9090;
    s.balancer.routes = {{"/", "llm"}};
    return s;
}

// A canary's figures, scripted: `script(step, call)` answers the call-th
// figures() (from 1) of the step-th restart() (from 1); by default a good
// version with plenty of traffic.
class FakeMeter : public deploy::VersionMeter {
public:
    std::function<deploy::StepFigures(int step, int call)> script = [](int, int) {
        return deploy::StepFigures{100, 0, 0.010};
    };
    void restart() override {
        ++steps;
        calls = 0;
    }
    deploy::StepFigures figures(const std::string& service) override {
        asked.push_back(service);
        return script(steps, ++calls);
    }
    int steps = 0;
    int calls = 0;
    std::vector<std::string> asked;
};

struct World {
    FakeClock clock;
    FakeEngine engine{&clock};
    FakeProber prober{engine};
    FakeMeter meter;
    // Whether a canary sees Ctrl-C at its next look; set by a test's meter script.
    bool interrupt = false;
    util::Output out{util::Output::Level::quiet, false};

    World() {
        engine.add_image("acme/llm:1", "sha256:llm1");
        engine.add_image("docker.io/library/nginx:stable", "sha256:nginx");
    }

    deploy::Session session(const stack::Stack& stack, deploy::SessionOptions options = {}) {
        return deploy::Session(engine, stack, out, std::move(options),
                               deploy::Collaborators{&clock, &prober, &meter, [this] { return interrupt; }});
    }

    // `up`: plan, then apply.
    void up(const stack::Stack& stack, deploy::SessionOptions options = {}) {
        auto s = session(stack, std::move(options));
        s.apply(s.plan());
    }

    // The containers of `role`, by name.
    std::map<std::string, FakeEngine::Container> of_role(const char* role) const {
        std::map<std::string, FakeEngine::Container> found;
        for (auto& c : engine.containers()) {
            auto it = c.labels.find(plan::label::role);
            if (it != c.labels.end() && it->second == role) found[c.name] = c;
        }
        return found;
    }
    std::map<std::string, FakeEngine::Container> replicas() const { return of_role(plan::label::role_model); }

    std::string id_of(const std::string& name) const {
        auto c = engine.container(name);
        REQUIRE(c);
        return c->id;
    }
    // ip:port the balancer sends to.
    std::string address_of(const std::string& name, int port = 8000) const {
        return engine.ip_of(name) + ":" + std::to_string(port);
    }
};

// The message of the DeployError (or any exception) `f` throws; "" when it returns.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

inline bool is_reload(const Call& c) {
    return c.method == "exec" && c.args.size() > 7 && c.args[3] == "mldeploy-reload";
}

// Index of the first call matching `pred` at or after `from`; -1 when none.
template <typename P>
long index_of(const std::vector<Call>& calls, P pred, long from = 0) {
    for (long i = from; i < static_cast<long>(calls.size()); ++i)
        if (pred(calls[static_cast<std::size_t>(i)])) return i;
    return -1;
}

inline auto call_is(const std::string& method, const std::string& target) {
    return [=](const Call& c) { return c.method == method && c.target == target; };
}

}  // namespace mldeploy::test
