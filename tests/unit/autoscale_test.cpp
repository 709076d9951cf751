// The autoscaler: its decision on a fake clock (ramp up, hold, ramp down,
// flapping demand that must not scale), the lines `ps` reads back, and the
// apply path on the fake engine, as the controller runs it.
#include "deploy/autoscale.hpp"
#include "deploy/autoscaler.hpp"
#include "deploy/scale.hpp"
#include "deploy_world.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace mldeploy;
using namespace mldeploy::deploy;
using namespace std::chrono_literals;

namespace {

stack::Autoscale settings(int min = 1, int max = 4, double target = 2, std::chrono::milliseconds up = 10s,
                          std::chrono::milliseconds down = 120s) {
    stack::Autoscale s;
    s.min = min;
    s.max = max;
    s.target_inflight = target;
    s.scale_up_delay = up;
    s.scale_down_delay = down;
    return s;
}

// Feeds one reading a second for `seconds`, applying each change at once, as
// the controller does; returns the replica count after each second.
struct Run {
    explicit Run(stack::Autoscale settings) : s(settings) {}
    stack::Autoscale s;
    AutoscaleState state;
    AutoscaleClock::time_point now{std::chrono::hours(1)};
    int replicas = 1;
    std::vector<std::string> decisions;

    std::vector<int> feed(double inflight, int seconds) {
        std::vector<int> counts;
        for (int i = 0; i < seconds; ++i) {
            now += 1s;
            const auto d = decide(s, state, now, inflight, replicas);
            if (d.changes()) {
                decisions.push_back(d.reason);
                replicas = d.desired;
            }
            counts.push_back(replicas);
        }
        return counts;
    }
};

}  // namespace

TEST_SUITE("autoscale: decision") {
    TEST_CASE("wanted replicas: ceil(in flight / target) within [min, max]") {
        const auto s = settings(1, 4, 2);
        CHECK(wanted_replicas(s, 0) == 1);
        CHECK(wanted_replicas(s, 2) == 1);
        CHECK(wanted_replicas(s, 2.1) == 2);
        CHECK(wanted_replicas(s, 4.0000001) == 2);  // a sum of averages a hair over
        CHECK(wanted_replicas(s, 5.2) == 3);
        CHECK(wanted_replicas(s, 100) == 4);
        CHECK(wanted_replicas(settings(2, 8, 0.5), 0.2) == 2);
        CHECK(wanted_replicas(settings(2, 8, 0.5), 1.9) == 4);
    }

    TEST_CASE("ramp up: added once demand has been above target for scale_up_delay, then held") {
        Run r{settings(1, 4, 2, 10s, 120s)};
        // The first reading above target starts the delay: 9 s later, not yet.
        const auto before = r.feed(8, 10);
        CHECK(before == std::vector<int>(10, 1));
        CHECK(r.feed(8, 1) == std::vector<int>{4});
        REQUIRE(r.decisions.size() == 1);
        CHECK(r.decisions[0] == "in flight 8.0 (8.0/replica) > target 2 for 10s: 1 -> 4");
        CHECK(r.feed(8, 300) == std::vector<int>(300, 4));  // holds at the target: no change
        CHECK(r.decisions.size() == 1);
    }

    TEST_CASE("never past max, and the reason says the demand that asked") {
        Run r{settings(1, 3, 1, 2s, 6s)};
        r.feed(20, 3);
        CHECK(r.replicas == 3);
        CHECK(r.decisions.back() == "in flight 20.0 (20.0/replica) > target 1 for 2s: 1 -> 3");
    }

    TEST_CASE("ramp down: removed after scale_down_delay, to the most demand asked for during it") {
        Run r{settings(1, 4, 2, 2s, 6s)};
        r.feed(8, 3);
        REQUIRE(r.replicas == 4);
        // Demand falls to 5 (3 replicas) then 1.2 (1 replica) within the delay:
        // the scale-down goes to 3, the most it asked for.
        auto counts = r.feed(5, 3);
        auto more = r.feed(1.2, 4);
        counts.insert(counts.end(), more.begin(), more.end());
        CHECK(counts == std::vector<int>{4, 4, 4, 4, 4, 4, 3});
        CHECK(r.decisions.back() == "in flight 1.2 (0.3/replica) < target 2 for 6s: 4 -> 3");
        r.feed(1.2, 7);
        CHECK(r.replicas == 1);
        r.feed(0, 600);
        CHECK(r.replicas == 1);  // never under min
    }

    TEST_CASE("flapping demand (above, below, above, below...) within the delays changes nothing") {
        Run r{settings(1, 4, 2, 10s, 120s)};
        for (int i = 0; i < 30; ++i) {
            r.feed(6, 5);  // above for 5 s < 10 s
            r.feed(1, 5);  // back at target: the count fits
        }
        CHECK(r.replicas == 1);
        CHECK(r.decisions.empty());

        r.feed(8, 11);
        REQUIRE(r.replicas == 4);
        for (int i = 0; i < 30; ++i) {
            r.feed(0, 60);  // below for 60 s < 120 s
            r.feed(8, 3);   // a burst: 4 fit it, the scale-down starts anew
        }
        CHECK(r.replicas == 4);
        CHECK(r.decisions.size() == 1);
    }

    TEST_CASE("a count outside [min, max] (a `scale` by hand) is brought back after the delay") {
        Run r{settings(2, 4, 2, 2s, 6s)};
        r.replicas = 8;
        r.feed(0, 6);
        CHECK(r.replicas == 8);
        r.feed(0, 1);
        CHECK(r.replicas == 2);
        CHECK(r.decisions.back() == "8 replicas outside [2, 4], in flight 0.0 (0.0/replica) for 6s: 8 -> 2");
        r.replicas = 0;
        r.feed(0, 3);
        CHECK(r.replicas == 2);
    }

    TEST_CASE("the state names its phase and the pending change while it waits") {
        const auto s = settings(1, 4, 2, 10s, 120s);
        AutoscaleState state;
        AutoscaleClock::time_point t0{std::chrono::hours(1)};
        auto d = decide(s, state, t0, 1, 1);
        CHECK(phase_name(state.phase) == "steady");
        CHECK(d.reason == "in flight 1.0 (1.0/replica), target 2: 1 replica(s) fit");
        decide(s, state, t0 + 1s, 6, 1);
        d = decide(s, state, t0 + 4s, 6, 1);
        CHECK(phase_name(state.phase) == "above target");
        CHECK(d.reason == "in flight 6.0 (6.0/replica) > target 2 for 3.0s of 10s: 1 -> 3 then");
        CHECK_FALSE(d.changes());
    }
}

TEST_SUITE("autoscale: log lines for ps") {
    TEST_CASE("a line round-trips, also behind an engine's timestamp; ps keeps the last state and decision") {
        AutoscaleEvent e{"llm", "scaled", "steady", 100, 90, 3, 3, 1, 4, 2, "in flight 5.0 ... : 1 -> 3"};
        const auto line = autoscale_line(e);
        CHECK(line.starts_with("autoscale {"));
        const auto back = parse_autoscale_line("2026-12-03T07:00:00Z " + line + "\r");
        REQUIRE(back.has_value());
        CHECK(back->service == "llm");
        CHECK(back->replicas == 3);
        CHECK(back->reason == e.reason);
        CHECK_FALSE(parse_autoscale_line("agent: following the access log").has_value());
        CHECK_FALSE(parse_autoscale_line("autoscale {broken").has_value());

        AutoscaleEvent later = e;
        later.event = "state";
        later.phase = "below target";
        const auto reports = autoscale_reports({autoscale_line(e), "  ✓ started demo-llm-3", autoscale_line(later)});
        REQUIRE(reports.contains("llm"));
        CHECK(reports.at("llm").state.phase == "below target");
        REQUIRE(reports.at("llm").last_decision.has_value());
        CHECK(reports.at("llm").last_decision->event == "scaled");
    }
}

TEST_SUITE("autoscale: what ps prints") {
    TEST_CASE("the phase and since when, why while waiting, and the last change") {
        AutoscaleReport r;
        r.state = {"m", "state", "above target", 100, 97, 1, 4, 1, 4, 2, "in flight 8.8 (8.8/replica) > target 2 ..."};
        CHECK(describe_report(r, 100.4) ==
              std::vector<std::string>{"m: min 1, max 4, target 2/replica: above target for 3s",
                                       "  now: in flight 8.8 (8.8/replica) > target 2 ...", "  last: no change yet"});
        r.last_decision = AutoscaleEvent{"m", "failed", "steady", 90, 90, 1, 2, 1, 4, 2, "...: 1 -> 2: no space"};
        r.state.phase = "steady";
        CHECK(describe_report(r, 100) == std::vector<std::string>{"m: min 1, max 4, target 2/replica: steady for 3s",
                                                                  "  last: 10s ago (failed): ...: 1 -> 2: no space"});
    }
}

TEST_SUITE("autoscale: the controller's apply path on the fake engine") {
    TEST_CASE("scale_service changes one service's count, health-gated, and back down") {
        test::World w;
        auto s = test::demo_stack(1);
        w.up(s);
        REQUIRE(w.replicas().size() == 1);
        scale_service(w.engine, s, "llm", 3, w.out, std::nullopt, Collaborators{&w.clock, &w.prober});
        CHECK(w.replicas().size() == 3);
        scale_service(w.engine, s, "llm", 1, w.out, std::nullopt, Collaborators{&w.clock, &w.prober});
        CHECK(w.replicas().size() == 1);
        CHECK(w.replicas().contains("demo-llm-1"));
    }

    TEST_CASE("the Autoscaler reads the deployed stack from the balancer, scales it, and logs why") {
        test::World w;
        auto s = test::demo_stack(1);
        s.services[0].autoscale = settings(1, 3, 2, 2s, 6s);
        w.up(s);
        std::vector<std::string> lines;
        Autoscaler autoscaler(
            w.engine, "demo", w.out, [&](const std::string& l) { lines.push_back(l); },
            Collaborators{&w.clock, &w.prober});
        auto now = w.clock.now();
        double unix = 1000;
        const auto tick = [&](double inflight) {
            now += 1s;
            unix += 1;
            const int running = static_cast<int>(w.replicas().size());
            return autoscaler.tick(now, unix, {{"llm", inflight}}, {{"llm", running}});
        };
        CHECK_FALSE(tick(5));  // above target: 3 wanted, from now on
        REQUIRE(autoscaler.stack().has_value());
        CHECK_FALSE(tick(5));
        CHECK(tick(5));  // 2 s above
        CHECK(w.replicas().size() == 3);
        for (int i = 0; i < 7; ++i) tick(0);
        CHECK(w.replicas().size() == 1);

        const auto reports = autoscale_reports(lines);
        REQUIRE(reports.contains("llm"));
        REQUIRE(reports.at("llm").last_decision.has_value());
        CHECK(reports.at("llm").last_decision->event == "scaled");
        CHECK(reports.at("llm").last_decision->replicas == 1);
        CHECK(reports.at("llm").last_decision->reason == "in flight 0.0 (0.0/replica) < target 2 for 6s: 3 -> 1");
        CHECK(parse_autoscale_line(lines.front())->event == "start");
    }

    TEST_CASE("a new `up` keeps an autoscaled service's running count, within [min, max]") {
        test::World w;
        auto s = test::demo_stack(1);
        s.services[0].autoscale = settings(1, 3, 2, 2s, 6s);
        w.up(s);
        scale_service(w.engine, s, "llm", 3, w.out, std::nullopt, Collaborators{&w.clock, &w.prober});
        w.up(s);
        CHECK(w.replicas().size() == 3);
        s.services[0].autoscale->max = 2;
        w.up(s);
        CHECK(w.replicas().size() == 2);
    }
}
