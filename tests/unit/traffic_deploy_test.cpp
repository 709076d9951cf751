// `mldeploy traffic` against the fake engine: a new live split reaches the
// running balancer by a reload (no container made or removed) and its
// stack.json; the balancer's access log is measured per service; and a later
// deploy from the file keeps the split while the file leaves the route alone.
#include "deploy/stack_state.hpp"
#include "deploy/traffic.hpp"
#include "deploy_world.hpp"

#include <doctest/doctest.h>

using namespace mldeploy;
using namespace mldeploy::test;

namespace {

// demo's llm as two versions, v1 and v2, split 100/0 on "/".
stack::Stack two_versions() {
    auto s = demo_stack(1);
    auto v2 = s.services[0];
    s.services[0].name = "v1";
    v2.name = "v2";
    s.services.push_back(v2);
    stack::Route route;
    route.path = "/";
    route.backends = {{"v1", 100}, {"v2", 0}};
    s.balancer.routes = {route};
    return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("traffic: deploy") {
    TEST_CASE("a new live split: one reload of the running balancer, which keeps it; no container changes") {
        World w;
        const auto file = two_versions();
        w.up(file);
        const auto before = w.engine.calls().size();

        auto kept = deploy::load_kept_stack(w.engine, "demo");
        REQUIRE(kept);
        plan::set_live(kept->balancer.routes[0], {{"v1", 20}, {"v2", 80}});
        deploy::apply_routes(w.engine, *kept, w.out, deploy::Collaborators{&w.clock, &w.prober});

        const auto calls = w.engine.calls();
        int reloads = 0;
        for (auto i = before; i < calls.size(); ++i) {
            if (is_reload(calls[i])) ++reloads;
            CHECK(calls[i].method != "create");
            CHECK(calls[i].method != "remove");
        }
        CHECK(reloads == 1);
        const auto balancer = w.engine.container("demo-balancer");
        REQUIRE(balancer);
        CHECK(contains(balancer->files.at("/etc/mldeploy/nginx.conf"), "20% mldeploy_v1"));
        const auto again = deploy::load_kept_stack(w.engine, "demo");
        REQUIRE(again);
        CHECK(again->balancer.routes[0].live == std::vector<stack::Backend>{{"v1", 20}, {"v2", 80}});

        SUBCASE("a deploy of the unchanged file keeps the split: nothing reloads") {
            auto from_file = file;
            const auto said = deploy::keep_live_splits(w.engine, from_file);
            CHECK(said.kept.size() == 1);
            const auto mark = w.engine.calls().size();
            w.up(from_file);
            const auto after = w.engine.calls();
            CHECK(std::none_of(after.begin() + static_cast<long>(mark), after.end(), is_reload));
            CHECK(deploy::load_kept_stack(w.engine, "demo")->balancer.routes[0].live.has_value());
        }
        SUBCASE("a file that changed the route: its split replaces the live one") {
            auto from_file = file;
            from_file.balancer.routes[0].backends = {{"v1", 50}, {"v2", 50}};
            const auto said = deploy::keep_live_splits(w.engine, from_file);
            CHECK(said.replaced ==
                  std::vector<std::string>{"route /: the file's split 50/50 replaces the live split 20/80"});
            w.up(from_file);
            CHECK_FALSE(deploy::load_kept_stack(w.engine, "demo")->balancer.routes[0].live.has_value());
            CHECK(
                contains(w.engine.container("demo-balancer")->files.at("/etc/mldeploy/nginx.conf"), "50% mldeploy_v1"));
        }
    }

    TEST_CASE("measure_traffic: the balancer's access log in the window, per service, other lines ignored") {
        World w;
        Behavior logs;
        logs.log_lines = {
            "mldeploy1|1000.000|0.010|200|mldeploy_v1|10.0.0.2:8000|200|0.010",  // before the window
            "mldeploy1|1095.000|0.010|200|mldeploy_v1|10.0.0.2:8000|200|0.010",
            "2026/12/03 07:00:00 [notice] 1#1: signal process started",
            "mldeploy1|1096.000|0.020|200|mldeploy_v2|10.0.0.3:8000|200|0.020",
            "mldeploy1|1097.000|0.030|502|mldeploy_v2|10.0.0.3:8000|502|0.030",
        };
        w.engine.script("demo-balancer", logs);
        w.up(two_versions());
        const auto window = deploy::measure_traffic(w.engine, two_versions(), 10, 1100);
        CHECK(window.seconds == 10);
        REQUIRE(window.services.size() == 2);
        CHECK(window.services.at("v1").requests == 1);
        CHECK(window.services.at("v2").requests == 2);
        CHECK(window.services.at("v2").errors == 1);
    }

    TEST_CASE("a stack not deployed yet has no live split to keep, nor a balancer to measure") {
        World w;
        auto file = two_versions();
        const auto said = deploy::keep_live_splits(w.engine, file);
        CHECK(said.kept.empty());
        CHECK(said.replaced.empty());
        CHECK(contains(error_of([&] { deploy::measure_traffic(w.engine, file, 30, 1000); }),
                       "stack demo has no running balancer"));
    }
}
