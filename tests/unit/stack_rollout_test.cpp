// [services.X.rollout]: the loader's defaults, values and messages, and the
// round trip through stack.json.
#include "stack/load.hpp"
#include "stack/serialize.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace mldeploy::stack;
using namespace std::chrono_literals;

namespace {

const EnvLookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };

// One service `m` behind the default route, with `rollout_lines` in its
// [services.m.rollout] table from line 6 on.
std::string with_rollout(std::string_view rollout_lines) {
    return "name = \"ro\"\n"
           "[services.m]\n"
           "image = \"localhost/ro/m:1\"\n"
           "port = 5000\n"
           "[services.m.rollout]\n" +
           std::string(rollout_lines) + "\n[balancer]\nport = 8080\n";
}

std::string errors_of(const std::string& text) {
    try {
        load_stack_text(text, "stack.toml", no_env);
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

Stack load(const std::string& text) { return load_stack_text(text, "stack.toml", no_env); }

}  // namespace

TEST_SUITE("stack: [services.X.rollout]") {
    TEST_CASE("no table: the rolling default; a canary table's defaults are the contract's") {
        const auto plain = load(
            "name = \"ro\"\n[services.m]\nimage = \"localhost/ro/m:1\"\nport = 5000\n"
            "[balancer]\nport = 8080\n");
        CHECK_FALSE(plain.services[0].rollout);
        CHECK_FALSE(plain.services[0].canary());
        CHECK_FALSE(plain.logs_requests());

        const auto s = load(with_rollout("strategy = \"canary\""));
        REQUIRE(s.services[0].rollout);
        const auto& r = *s.services[0].rollout;
        CHECK(s.services[0].canary());
        CHECK(r.steps == std::vector<int>{10, 50, 100});
        CHECK(r.pause == 30000ms);
        CHECK(r.max_error_rate == doctest::Approx(0.01));
        CHECK_FALSE(r.max_p95);
        CHECK(r.min_requests == 20);
        CHECK(r.pos.line == 5);
        // A canary is judged from the balancer's log: it logs requests.
        CHECK(s.logs_requests());
    }

    TEST_CASE("every key") {
        const auto s =
            load(with_rollout("strategy = \"canary\"\nsteps = [5, 25, 100]\npause = \"10s\"\n"
                              "max_error_rate = \"0.5%\"\nmax_p95 = \"1500ms\"\nmin_requests = 50"));
        const auto& r = *s.services[0].rollout;
        CHECK(r.steps == std::vector<int>{5, 25, 100});
        CHECK(r.pause == 10000ms);
        CHECK(r.max_error_rate == doctest::Approx(0.005));
        CHECK(r.max_p95 == 1500ms);
        CHECK(r.min_requests == 50);
        CHECK(load(with_rollout("strategy = \"canary\"\nmax_error_rate = 0.02")).services[0].rollout->max_error_rate ==
              doctest::Approx(0.02));
        CHECK(load(with_rollout("strategy = \"canary\"\nsteps = [100]")).services[0].rollout->steps ==
              std::vector<int>{100});
        CHECK_FALSE(load(with_rollout("strategy = \"rolling\"")).services[0].canary());
    }

    TEST_CASE("each wrong value, at its place, saying what would be right") {
        CHECK(errors_of(with_rollout("strategy = \"blue-green\"")) ==
              "stack.toml:6:12: 'strategy' must be one of rolling, canary, not 'blue-green'");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nsteps = [10, 50]")) ==
              "stack.toml:7:9: 'steps' must end with 100, not 50: the last step moves all the service's traffic to "
              "the new version (such as [10, 50, 100])");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nsteps = [50, 50, 100]")) ==
              "stack.toml:7:14: steps must rise: 50 comes after 50 (such as [10, 50, 100])");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nsteps = [0, 100]")) ==
              "stack.toml:7:10: each step must be a whole percent from 1 to 100, not 0");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nsteps = []")) ==
              "stack.toml:7:9: 'steps' must be a non-empty array of percents such as [10, 50, 100], not an empty "
              "array");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\npause = \"500ms\"")) ==
              "stack.toml:7:9: 'pause' must be at least 1s, not 500ms");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nmax_error_rate = \"101%\"")) ==
              "stack.toml:7:18: 'max_error_rate' must be a percent such as \"1%\" or \"0.5%\" (0% to 100%), or a "
              "fraction from 0 to 1, not \"101%\"");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nmax_error_rate = 5")) ==
              "stack.toml:7:18: 'max_error_rate' must be a percent such as \"1%\" or \"0.5%\" (0% to 100%), or a "
              "fraction from 0 to 1, not 5");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nmin_requests = 0")) ==
              "stack.toml:7:16: 'min_requests' must be 1 to 1000000, not 0 (answers the new version must give in a "
              "step before it is judged, such as 20)");
        CHECK(errors_of(with_rollout("steps = [10, 100]")) ==
              "stack.toml:6:9: 'steps' applies to strategy = \"canary\" only; add strategy = \"canary\" or remove it");
        CHECK(errors_of(with_rollout("strategy = \"canary\"\nwait = \"1s\"")).find("unknown key 'wait'") !=
              std::string::npos);
    }

    TEST_CASE("a canary needs the engine target, no autoscale, and a route that sends it traffic") {
        CHECK(errors_of("target = \"swarm\"\n" + with_rollout("strategy = \"canary\""))
                  .find("stack.toml:6:1: [services.m.rollout] strategy = \"canary\" needs target = \"engine\"") !=
              std::string::npos);
        CHECK(errors_of(with_rollout("strategy = \"canary\"\n[services.m.autoscale]\nmax = 2"))
                  .find("with autoscale is not supported yet") != std::string::npos);
        const auto unrouted =
            "name = \"ro\"\n[services.m]\nimage = \"localhost/ro/m:1\"\nport = 5000\n"
            "[services.n]\nimage = \"localhost/ro/m:1\"\nport = 5000\n"
            "[services.n.rollout]\nstrategy = \"canary\"\n"
            "[balancer]\nport = 8080\n[[balancer.routes]]\npath = \"/\"\nservice = \"m\"\n";
        CHECK(errors_of(unrouted) ==
              "stack.toml:8:1: service n has a canary rollout but no route sends it traffic: a canary needs traffic "
              "to judge; route to it or use strategy = \"rolling\"");
    }

    TEST_CASE("a target given after loading (up --target swarm) is judged the same way, at the same place") {
        auto stack = load(with_rollout("strategy = \"canary\""));
        CHECK(target_problems(stack).empty());
        stack.target = "swarm";
        const auto problems = target_problems(stack);
        REQUIRE(problems.size() == 1);
        CHECK(problems[0].to_string() ==
              "stack.toml:5:1: [services.m.rollout] strategy = \"canary\" needs target = \"engine\": Swarm rolls a "
              "service's update itself; use strategy = \"rolling\"");
        stack.services[0].rollout.reset();
        CHECK(target_problems(stack).empty());
    }

    TEST_CASE("stack.json keeps the rollout") {
        const auto s =
            load(with_rollout("strategy = \"canary\"\nsteps = [5, 100]\npause = \"2s\"\n"
                              "max_error_rate = \"3%\"\nmax_p95 = \"1s\"\nmin_requests = 7"));
        const auto back = stack_from_json(to_json(s, false));
        REQUIRE(back.services[0].rollout);
        const auto& r = *back.services[0].rollout;
        CHECK(r.strategy == "canary");
        CHECK(r.steps == std::vector<int>{5, 100});
        CHECK(r.pause == 2000ms);
        CHECK(r.max_error_rate == doctest::Approx(0.03));
        CHECK(r.max_p95 == 1000ms);
        CHECK(r.min_requests == 7);
        CHECK_FALSE(stack_from_json(to_json(load(with_rollout("strategy = \"rolling\"")), false)).services[0].canary());
    }
}
