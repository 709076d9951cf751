// Canary rollouts: the routing (plan/canary), the judge (deploy/canary) and the
// executor's canary on the fake engine, clock, prober and a scripted meter.
#include "deploy/canary.hpp"
#include "deploy/balancer.hpp"
#include "deploy/errors.hpp"
#include "deploy_world.hpp"
#include "plan/canary.hpp"
#include "plan/specs.hpp"

#include <fmt/format.h>

#include <doctest/doctest.h>

using namespace mldeploy;
using namespace mldeploy::test;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

stack::Rollout canary_rollout() {
    stack::Rollout r;
    r.strategy = "canary";
    r.steps = {10, 50, 100};
    r.pause = 4000ms;
    r.max_error_rate = 0.05;
    r.min_requests = 20;
    return r;
}

stack::Stack canary_stack(const std::string& model = "v1", int replicas = 2) {
    auto s = demo_stack(replicas);
    s.services[0].env["MODEL"] = model;
    s.services[0].rollout = canary_rollout();
    return s;
}

// The configs the balancer was given, in order (inline reloads).
std::vector<std::string> configs(const FakeEngine& engine) {
    std::vector<std::string> out;
    for (auto& c : engine.calls())
        if (is_reload(c)) out.push_back(c.args[4]);
    return out;
}

std::vector<stack::Backend> split_of(const stack::Stack& s, std::size_t route) {
    return s.balancer.routes.at(route).split();
}

}  // namespace

TEST_SUITE("canary: routing") {
    TEST_CASE("the new version is a service of its own, and takes its percent of each route's share") {
        auto s = demo_stack();
        s.services.push_back(s.services[0]);
        s.services[1].name = "other";
        s.balancer.routes = {{"/a", "llm"}, {"/b", "other"}};
        stack::Route weighted;
        weighted.path = "/c";
        weighted.backends = {{"llm", 60}, {"other", 40}};
        s.balancer.routes.push_back(weighted);

        const auto routed = plan::canary_routing(s, "llm", 10);
        REQUIRE(routed.find_service("llm.canary") != nullptr);
        CHECK(routed.find_service("llm.canary")->port == 8000);
        CHECK(split_of(routed, 0) == std::vector<stack::Backend>{{"llm", 90}, {"llm.canary", 10}});
        CHECK(split_of(routed, 1) == std::vector<stack::Backend>{{"other", 100}});
        CHECK_FALSE(routed.balancer.routes[1].live);
        CHECK(split_of(routed, 2) == std::vector<stack::Backend>{{"llm", 54}, {"llm.canary", 6}, {"other", 40}});
        // Every route still sums to 100, at every percent.
        for (int p = 0; p <= 100; ++p) {
            const auto r = plan::canary_routing(s, "llm", p);
            for (std::size_t i = 0; i < r.balancer.routes.size(); ++i) {
                int sum = 0;
                for (auto& b : split_of(r, i)) sum += b.weight;
                CHECK(sum == 100);
            }
        }
        const auto all = plan::canary_routing(s, "llm", 100);
        CHECK(split_of(all, 0) == std::vector<stack::Backend>{{"llm", 0}, {"llm.canary", 100}});
        // The stack itself is untouched.
        CHECK(s.find_service("llm.canary") == nullptr);
        CHECK_FALSE(s.balancer.routes[0].live);
    }

    TEST_CASE("the routed config sends the split to two upstreams; stack.json keeps the stack as written") {
        const auto s = demo_stack();
        const auto routed = plan::canary_routing(s, "llm", 50);
        const auto files =
            deploy::balancer_files(s, routed, {{"llm", {"10.0.0.1:8000"}}, {"llm.canary", {"10.0.0.2:8000"}}});
        CHECK(contains(files.config, "upstream mldeploy_llm.canary {"));
        CHECK(contains(files.config, "split_clients"));
        CHECK(contains(files.config, "50% mldeploy_llm;"));
        CHECK(contains(files.config, "* mldeploy_llm.canary;"));
        CHECK_FALSE(contains(files.stack_json, "canary\""));
        CHECK(files.fingerprint == deploy::balancer_files(s, {{"llm", {"10.0.0.1:8000"}}}).fingerprint);
    }
}

TEST_SUITE("canary: the judge") {
    const auto r = canary_rollout();

    TEST_CASE("a step passes once its pause is over with min_requests answers within the thresholds") {
        CHECK(deploy::judge_step(r, {100, 1, 0.05}, 3999ms).verdict == deploy::StepVerdict::watching);
        CHECK(deploy::judge_step(r, {100, 1, 0.05}, 4000ms).verdict == deploy::StepVerdict::passed);
        CHECK(deploy::judge_step(r, {100, 5, 0.05}, 4000ms).verdict == deploy::StepVerdict::passed);  // 5% is not over
    }
    TEST_CASE("an error rate over max_error_rate fails at once, with the figures") {
        const auto j = deploy::judge_step(r, {40, 3, 0.05}, 1000ms);
        CHECK(j.verdict == deploy::StepVerdict::failed);
        CHECK(j.why == "its error rate 7.5% (3 of 40 answers were 5xx) is over max_error_rate 5%");
    }
    TEST_CASE("nothing is judged before min_requests answers") {
        CHECK(deploy::judge_step(r, {19, 19, 9.0}, 4000ms).verdict == deploy::StepVerdict::watching);
    }
    TEST_CASE("a p95 over max_p95 fails; without max_p95 latency is not judged") {
        auto with_p95 = r;
        with_p95.max_p95 = 2000ms;
        const auto j = deploy::judge_step(with_p95, {50, 0, 2.5}, 1000ms);
        CHECK(j.verdict == deploy::StepVerdict::failed);
        CHECK(contains(j.why, "p95 latency 2.500s (over 50 answers) is over max_p95 2s"));
        CHECK(deploy::judge_step(r, {50, 0, 2.5}, 4000ms).verdict == deploy::StepVerdict::passed);
    }
    TEST_CASE("too little traffic fails once starved_after has passed") {
        CHECK(deploy::starved_after(r) == 64000ms);
        CHECK(deploy::judge_step(r, {3, 0, 0}, 63999ms).verdict == deploy::StepVerdict::watching);
        const auto j = deploy::judge_step(r, {3, 0, 0}, 64000ms);
        CHECK(j.verdict == deploy::StepVerdict::failed);
        CHECK(contains(j.why, "only 3 request(s) in 64s, fewer than min_requests 20"));
    }
    TEST_CASE("the progress line holds every threshold") {
        auto with_p95 = r;
        with_p95.max_p95 = 2000ms;
        CHECK(deploy::figures_text(with_p95, {143, 2, 0.021}) ==
              "143 answers (min 20), 2 errors (1.4%, max 5%), p95 0.021s (max 2s)");
    }
}

TEST_SUITE("canary: the executor") {
    TEST_CASE("a good version passes every step and takes over, the old replicas drained and removed") {
        World w;
        w.up(canary_stack("v1"));
        std::map<std::string, std::string> old_ids;
        for (auto& [name, c] : w.replicas()) old_ids[name] = c.id;
        REQUIRE(old_ids.size() == 2);
        const auto before = configs(w.engine).size();

        w.up(canary_stack("v2"));
        CHECK(w.meter.steps == 3);
        CHECK(w.meter.asked.front() == "llm.canary");
        const auto now = w.replicas();
        CHECK(now.size() == 2);
        for (auto& [name, id] : old_ids) {
            REQUIRE(now.contains(name));
            CHECK(now.at(name).env.at("MODEL") == "v2");
            CHECK_FALSE(w.engine.container(id));
        }
        // One reload per step with the split, then the plain config on the new replicas.
        const auto all = configs(w.engine);
        REQUIRE(all.size() >= before + 4);
        CHECK(contains(all[before], "90% mldeploy_llm;"));
        CHECK(contains(all[before + 1], "50% mldeploy_llm;"));
        CHECK(contains(all[before + 2], "upstream mldeploy_llm.canary {"));
        CHECK_FALSE(contains(all[before + 2], "% mldeploy_llm;"));  // 0% for the old version: no share
        CHECK_FALSE(contains(all.back(), "canary"));
        for (auto& [name, c] : now) CHECK(contains(all.back(), w.engine.ip_of(c.id)));
        // Each step was watched for its pause.
        CHECK(w.clock.slept() >= 12000ms);
    }

    TEST_CASE("a bad version fails a step: every request goes back, the new replicas are drained and removed") {
        World w;
        w.up(canary_stack("v1"));
        std::map<std::string, std::string> old_ids;
        for (auto& [name, c] : w.replicas()) old_ids[name] = c.id;
        w.meter.script = [](int step, int) {
            return step == 2 ? deploy::StepFigures{80, 12, 0.02} : deploy::StepFigures{30, 0, 0.02};
        };
        const auto error = error_of([&] { w.up(canary_stack("v2")); });
        CHECK(contains(error, "the canary of service llm failed at step 2 (50%)"));
        CHECK(contains(error, "error rate 15% (12 of 80 answers were 5xx) is over max_error_rate 5%"));
        CHECK(contains(error, "rolled back"));
        CHECK(w.meter.steps == 2);
        const auto now = w.replicas();
        CHECK(now.size() == 2);
        for (auto& [name, id] : old_ids) {
            REQUIRE(now.contains(name));
            CHECK(now.at(name).id == id);
            CHECK(now.at(name).env.at("MODEL") == "v1");
        }
        const auto last = configs(w.engine).back();
        CHECK_FALSE(contains(last, "canary"));
        for (auto& [name, id] : old_ids) CHECK(contains(last, w.engine.ip_of(id)));
    }

    TEST_CASE("a version that never gets traffic enough fails once starved") {
        World w;
        w.up(canary_stack("v1"));
        w.meter.script = [](int, int) { return deploy::StepFigures{2, 0, 0.01}; };
        const auto error = error_of([&] { w.up(canary_stack("v2")); });
        CHECK(contains(error, "at step 1 (10%)"));
        CHECK(contains(error, "too little traffic"));
        for (auto& [name, c] : w.replicas()) CHECK(c.env.at("MODEL") == "v1");
    }

    TEST_CASE("Ctrl-C during a step rolls back, then stops as interrupted") {
        World w;
        w.up(canary_stack("v1"));
        w.meter.script = [&w](int step, int call) {
            if (step == 2 && call == 1) w.interrupt = true;
            return deploy::StepFigures{30, 0, 0.01};
        };
        bool interrupted = false;
        try {
            w.up(canary_stack("v2"));
        } catch (const deploy::Interrupted& e) {
            interrupted = true;
            CHECK(contains(e.what(), "interrupted and rolled back"));
        }
        CHECK(interrupted);
        for (auto& [name, c] : w.replicas()) CHECK(c.env.at("MODEL") == "v1");
        CHECK(w.replicas().size() == 2);
    }

    TEST_CASE("a new replica that never gets healthy: no request reached the new version") {
        World w;
        w.up(canary_stack("v1"));
        const auto before = configs(w.engine).size();
        w.prober.never_healthy("demo-llm-2-next");
        const auto error = error_of([&] { w.up(canary_stack("v2")); });
        CHECK(contains(error, "the canary of service llm failed: a replica of the new version did not become ready"));
        CHECK(contains(error, "no request reached the new version"));
        CHECK(w.meter.steps == 0);
        for (auto& [name, c] : w.replicas()) CHECK(c.env.at("MODEL") == "v1");
        for (auto i = before; i < configs(w.engine).size(); ++i) CHECK_FALSE(contains(configs(w.engine)[i], "canary"));
    }

    TEST_CASE(
        "a canary cut short (up killed while judging): the unjudged replicas drain and go, the canary runs again") {
        World w;
        const auto v1 = canary_stack("v1");
        w.up(v1);
        const auto v2 = canary_stack("v2");
        // The killed run had started the new version beside the old, as <name>-next.
        std::vector<std::string> leftovers;
        for (int n = 1; n <= 2; ++n) {
            auto spec = plan::replica_spec(v2, v2.services[0], n, "sha256:llm1");
            spec.name = fmt::format("demo-llm-{}-next", n);
            leftovers.push_back(w.engine.add_running_container(spec));
        }

        w.up(v2);

        CHECK(w.meter.steps == 3);  // judged again, every step
        for (const auto& id : leftovers) CHECK_FALSE(w.engine.container(id));
        const auto now = w.replicas();
        REQUIRE(now.size() == 2);
        for (auto& [name, c] : now) CHECK(c.env.at("MODEL") == "v2");
        CHECK(now.contains("demo-llm-1"));
        CHECK(now.contains("demo-llm-2"));
    }

    TEST_CASE("more replicas with a new version: the added ones start once the canary passed, never on a fail") {
        SUBCASE("passed: the third replica runs the new version, and no step's config listed it") {
            World w;
            w.up(canary_stack("v1", 2));
            const auto before = configs(w.engine).size();
            w.up(canary_stack("v2", 3));
            CHECK(w.meter.steps == 3);
            const auto now = w.replicas();
            REQUIRE(now.size() == 3);
            for (auto& [name, c] : now) CHECK(c.env.at("MODEL") == "v2");
            const auto third_ip = w.engine.ip_of(now.at("demo-llm-3").id);
            const auto all = configs(w.engine);
            for (auto i = before; i < all.size(); ++i)
                if (contains(all[i], "canary")) CHECK_FALSE(contains(all[i], third_ip));
            CHECK(contains(all.back(), third_ip));
        }
        SUBCASE("failed: rolled back to the two old replicas, the third never started") {
            World w;
            w.up(canary_stack("v1", 2));
            w.meter.script = [](int, int) { return deploy::StepFigures{80, 40, 0.02}; };
            const auto error = error_of([&] { w.up(canary_stack("v2", 3)); });
            CHECK(contains(error, "rolled back"));
            const auto now = w.replicas();
            CHECK(now.size() == 2);
            CHECK_FALSE(now.contains("demo-llm-3"));
            for (auto& [name, c] : now) CHECK(c.env.at("MODEL") == "v1");
        }
    }

    TEST_CASE("a restart of a canary service rolls one at a time: a restart is no new version") {
        World w;
        w.up(canary_stack("v1"));
        deploy::SessionOptions options;
        options.restart = {"llm"};
        w.up(canary_stack("v1"), options);
        CHECK(w.meter.steps == 0);
    }
}
