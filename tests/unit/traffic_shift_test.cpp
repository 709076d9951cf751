// `mldeploy traffic`'s pure part (issue 13): SVC=PCT words, the route they are
// for, the live split set on it, the rule by which `up` keeps or replaces a
// live split, and what the balancer logs so that the split can be measured.
#include "metrics/aggregate.hpp"
#include "plan/traffic.hpp"
#include "render/nginx.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>

#include <string>

using namespace mldeploy;
using stack::Backend;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const plan::TrafficError& e) {
        return e.what();
    }
    return "no error";
}

stack::Route weighted_route(std::string path, std::vector<Backend> backends) {
    stack::Route r;
    r.path = std::move(path);
    r.backends = std::move(backends);
    return r;
}

// v1 and v2 split "/" 100/0; "/admin" goes to v1 alone.
stack::Stack two_versions() {
    stack::Stack s;
    s.name = "shop";
    s.balancer.routes = {weighted_route("/", {{"v1", 100}, {"v2", 0}})};
    stack::Route admin;
    admin.path = "/admin";
    admin.service = "v1";
    s.balancer.routes.push_back(admin);
    return s;
}

}  // namespace

TEST_SUITE("traffic: shift") {
    TEST_CASE("SVC=PCT words: whole percents 0..100 summing to 100, each service once") {
        CHECK(plan::parse_shares({"v1=90", "v2=10"}) == std::vector<plan::Share>{{"v1", 90}, {"v2", 10}});
        CHECK(plan::parse_shares({"v2=100"}) == std::vector<plan::Share>{{"v2", 100}});
        CHECK(plan::parse_shares({}).empty());
        CHECK(error_of([] { plan::parse_shares({"v1"}); }) == "'v1' is not SERVICE=PERCENT (e.g. recs=90)");
        CHECK(error_of([] { plan::parse_shares({"=50", "v2=50"}); }).find("not SERVICE=PERCENT") != std::string::npos);
        for (const char* bad : {"v1=", "v1=12.5", "v1=101", "v1=-1", "v1=5x", "v1=ten"})
            CHECK(error_of([&] { plan::parse_shares({bad}); }).find("whole number from 0 to 100 (e.g. v1=50)") !=
                  std::string::npos);
        CHECK(error_of([] {
                  plan::parse_shares({"v1=50", "v1=50"});
              }) == "service v1 is given twice; give each service once");
        CHECK(error_of([] {
                  plan::parse_shares({"v1=90", "v2=20"});
              }) == "the percents sum to 110, not 100 (e.g. a=90 b=10)");
    }

    TEST_CASE("the route: by --route, else the one weighted route behind which every named service is") {
        auto s = two_versions();
        CHECK(plan::route_for(s, "", {{"v1", 50}, {"v2", 50}}) == 0);
        // v1 alone is behind "/admin" too, but that route cannot be split.
        CHECK(plan::route_for(s, "", {{"v1", 100}}) == 0);
        CHECK(plan::route_for(s, "/admin", {}) == 1);
        CHECK(error_of([&] { plan::route_for(s, "/nope", {}); }) ==
              "stack shop has no route /nope; its routes: / (v1, v2), /admin (v1)");
        CHECK(error_of([&] {
                  plan::route_for(s, "", {{"v3", 100}});
              }) == "no route of stack shop has v3 behind it; its routes: / (v1, v2), /admin (v1)");
        s.balancer.routes.push_back(weighted_route("/v2", {{"v1", 50}, {"v2", 50}}));
        CHECK(error_of([&] {
                  plan::route_for(s, "", {{"v2", 100}});
              }) == "more than one route fits; give one of: --route /, --route /v2");
        CHECK(plan::route_for(s, "/v2", {{"v2", 100}}) == 2);
    }

    TEST_CASE("the new split: the route's backends in the file's order; one left out gets 0") {
        const auto s = two_versions();
        const auto& route = s.balancer.routes[0];
        CHECK(plan::split_of(route, {{"v2", 50}, {"v1", 50}}) == std::vector<Backend>{{"v1", 50}, {"v2", 50}});
        CHECK(plan::split_of(route, {{"v2", 100}}) == std::vector<Backend>{{"v1", 0}, {"v2", 100}});
        CHECK(error_of([&] {
                  plan::split_of(route, {{"v3", 100}});
              }) == "service v3 is not behind route / (did you mean v1?); its backends: v1, v2 (e.g. v1=100 v2=0)");
        CHECK(error_of([&] {
                  plan::split_of(s.balancer.routes[1], {{"v1", 100}});
              }).find("route /admin sends every request to v1: to split it, give it backends = ") == 0);
    }

    TEST_CASE("a live split is kept only while it differs from the file's") {
        auto route = weighted_route("/", {{"v1", 90}, {"v2", 10}});
        plan::set_live(route, {{"v1", 50}, {"v2", 50}});
        REQUIRE(route.live);
        CHECK(route.split() == std::vector<Backend>{{"v1", 50}, {"v2", 50}});
        CHECK(route.file_split() == std::vector<Backend>{{"v1", 90}, {"v2", 10}});
        plan::set_live(route, {{"v1", 90}, {"v2", 10}});
        CHECK_FALSE(route.live);
        CHECK(plan::percents_text(route.split()) == "90/10");
        CHECK(plan::split_text(route.split()) == "v1 90, v2 10");
    }

    TEST_CASE("up: a live split survives a file that did not change its route, and gives way to one that did") {
        auto deployed = two_versions();
        deployed.balancer.routes[0].backends = {{"v1", 50}, {"v2", 50}};
        deployed.balancer.routes[0].live = std::vector<Backend>{{"v1", 90}, {"v2", 10}};

        SUBCASE("the same route in the file: the live split stays, the balancer renders it") {
            auto file = two_versions();
            file.balancer.routes[0].backends = {{"v1", 50}, {"v2", 50}};
            const auto said = plan::carry_live_splits(file, deployed);
            CHECK(file.balancer.routes[0].live == deployed.balancer.routes[0].live);
            CHECK(said.replaced.empty());
            CHECK(said.kept ==
                  std::vector<std::string>{
                      "route /: the live split 90/10 set by `mldeploy traffic` stays (the file's is 50/50)"});
            const auto conf = render::render_nginx_config(file, {{"v1", {"10.0.0.2:80"}}, {"v2", {"10.0.0.3:80"}}});
            CHECK(conf.find("90%") != std::string::npos);
            CHECK(conf.find("50%") == std::string::npos);
        }
        SUBCASE("the file changed the weights: the file's split applies, and up says so") {
            auto file = two_versions();
            file.balancer.routes[0].backends = {{"v1", 70}, {"v2", 30}};
            const auto said = plan::carry_live_splits(file, deployed);
            CHECK_FALSE(file.balancer.routes[0].live);
            CHECK(said.kept.empty());
            CHECK(said.replaced ==
                  std::vector<std::string>{"route /: the file's split 70/30 replaces the live split 90/10"});
        }
        SUBCASE("the file changed what else the route is (sticky): the file's split applies") {
            auto file = two_versions();
            file.balancer.routes[0].backends = {{"v1", 50}, {"v2", 50}};
            file.balancer.routes[0].sticky = "header:X-User";
            plan::carry_live_splits(file, deployed);
            CHECK_FALSE(file.balancer.routes[0].live);
        }
        SUBCASE("the file's route has other services: named in the message") {
            auto file = two_versions();
            file.balancer.routes[0].backends = {{"v1", 50}, {"v3", 50}};
            const auto said = plan::carry_live_splits(file, deployed);
            CHECK(said.replaced == std::vector<std::string>{
                                       "route /: the file's split v1 50, v3 50 replaces the live split v1 90, v2 10"});
        }
        SUBCASE("no live split deployed: nothing to say") {
            deployed.balancer.routes[0].live.reset();
            auto file = two_versions();
            const auto said = plan::carry_live_splits(file, deployed);
            CHECK(said.kept.empty());
            CHECK(said.replaced.empty());
        }
    }

    TEST_CASE("the balancer logs each request when a route is weighted, so that traffic can measure it") {
        stack::Stack plain;
        stack::Route one;
        one.path = "/";
        one.service = "v1";
        plain.balancer.routes = {one};
        CHECK_FALSE(plain.logs_requests());
        CHECK(two_versions().logs_requests());
        const auto conf = render::render_nginx_config(two_versions(), {{"v1", {"10.0.0.2:80"}}});
        CHECK(conf.find("access_log /dev/stdout mldeploy_v1") != std::string::npos);
    }

    TEST_CASE("a version's figures: every try of all its replicas in the window") {
        metrics::Aggregate a(10);
        const metrics::AddressBook book{
            {"10.0.0.2:80", {"v1", "1"}}, {"10.0.0.3:80", {"v1", "2"}}, {"10.0.0.4:80", {"v2", "1"}}};
        const auto line = [](double end, const char* service, const char* addr, int code, double secs) {
            return fmt::format("mldeploy1|{:.3f}|{:.3f}|{}|mldeploy_{}|{}|{}|{:.3f}", end, secs, code, service, addr,
                               code, secs);
        };
        for (int i = 0; i < 9; ++i)
            a.add_line(line(1000 + i * 0.1, "v1", i % 2 ? "10.0.0.2:80" : "10.0.0.3:80", 200, 0.01), book);
        a.add_line(line(1000.5, "v1", "10.0.0.2:80", 502, 0.5), book);
        a.add_line(line(1000.5, "v2", "10.0.0.4:80", 200, 0.02), book);
        a.add_line(line(980, "v2", "10.0.0.4:80", 500, 0.02), book);  // before the window
        const auto w = a.service_window(1005);
        REQUIRE(w.size() == 2);
        CHECK(w.at("v1").requests == 10);
        CHECK(w.at("v1").errors == 1);
        CHECK(w.at("v1").rate == doctest::Approx(1.0));
        CHECK(w.at("v1").p95 == doctest::Approx(0.5));
        CHECK(w.at("v2").requests == 1);
        CHECK(w.at("v2").errors == 0);
    }
}
