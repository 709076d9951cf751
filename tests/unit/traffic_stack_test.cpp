// Weighted backends, sticky routing and max_inflight in the stack file (issue 13):
// what the loader makes of them, every mistake at its file:line:col, and the
// round trip through the balancer's stack.json (with a live split).
#include "stack/load.hpp"
#include "stack/serialize.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

using namespace mldeploy::stack;

namespace {

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

// Two services, v1 and v2, and `route_lines` as the one route (from line 9 on).
std::string with_route(std::string_view route_lines, std::string_view v1_lines = "") {
    return "name = \"shop\"\n"
           "[services.v1]\n"
           "image = \"localhost/shop/recs:1\"\n"
           "port = 8000\n" +
           std::string(v1_lines) +
           "[services.v2]\n"
           "image = \"localhost/shop/recs:2\"\n"
           "port = 8000\n"
           "[balancer]\nport = 8080\n[[balancer.routes]]\npath = \"/\"\n" +
           std::string(route_lines) + "\n";
}

std::string errors_of(const std::string& text) {
    try {
        load_stack_text(text, "stack.toml", no_env);
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_SUITE("traffic: stack") {
    TEST_CASE("weighted backends, sticky and max_inflight are read") {
        const auto stack = load_stack_text(
            with_route("backends = [{ service = \"v1\", weight = 90 }, { service = \"v2\", weight = 10 }]\n"
                       "sticky = \"header:X-User-Id\"",
                       "max_inflight = 8\n"),
            "stack.toml", no_env);
        const auto& route = stack.balancer.routes.at(0);
        CHECK(route.service.empty());
        CHECK(route.backends == std::vector<Backend>{{"v1", 90}, {"v2", 10}});
        CHECK(route.split() == route.backends);
        CHECK(route.sticky == "header:X-User-Id");
        CHECK(stack.services.at(0).max_inflight == 8);
        CHECK_FALSE(stack.services.at(1).max_inflight.has_value());
    }

    TEST_CASE("the one-backend form is a split of 100") {
        const auto stack = load_stack_text(with_route("service = \"v2\""), "stack.toml", no_env);
        CHECK(stack.balancer.routes.at(0).split() == std::vector<Backend>{{"v2", 100}});
    }

    TEST_CASE("mistakes, each at its place") {
        CHECK(errors_of(with_route("service = \"v1\"\nbackends = [{ service = \"v1\", weight = 100 }]")) ==
              "stack.toml:12:11: a route takes 'service' (one backend) or 'backends' (a weighted split), not both; "
              "remove one");
        CHECK(
            errors_of(with_route("backends = [{ service = \"v1\", weight = 90 }, { service = \"v2\", weight = 5 }]")) ==
            "stack.toml:12:12: the weights of 'backends' sum to 95; they are percents of the route's requests and "
            "must sum to 100");
        CHECK(errors_of(with_route("backends = [{ service = \"v3\", weight = 100 }]")) ==
              "stack.toml:12:25: route to unknown service 'v3'; did you mean 'v1'?");
        CHECK(errors_of(with_route("backends = [{ service = \"v1\", weight = 101 }]")) ==
              "stack.toml:12:40: 'weight' must be between 0 and 100, not 101");
        CHECK(errors_of(
                  with_route("backends = [{ service = \"v1\", weight = 50 }, { service = \"v1\", weight = 50 }]")) ==
              "stack.toml:12:58: service 'v1' is already a backend of this route (line 12); give each service once");
        CHECK(errors_of(with_route("backends = []")) ==
              "stack.toml:12:12: 'backends' must be a non-empty array of tables such as [{ service = \"a\", weight = "
              "90 }, { service = \"b\", weight = 10 }], not an empty array");
        CHECK(errors_of(with_route("backends = [{ service = \"v1\" }]")) ==
              "stack.toml:12:13: missing required key 'weight' in [[balancer.routes.backends]]");
        CHECK(errors_of(with_route("service = \"v1\"\nsticky = \"user\"")) ==
              "stack.toml:13:10: 'sticky' must be \"header:NAME\" (NAME: letters, digits and '-') or \"cookie:NAME\" "
              "(NAME: letters, digits and '_'), such as \"header:X-User-Id\", not 'user'");
        CHECK(errors_of(with_route("service = \"v1\"\nsticky = \"header:X_User\"")).find("'sticky' must be") !=
              std::string::npos);
        CHECK(errors_of(with_route("service = \"v1\"", "max_inflight = 0\n")) ==
              "stack.toml:5:16: 'max_inflight' must be between 1 and 100000, not 0");
    }

    TEST_CASE("a mirror and its share are read; the share defaults to 100") {
        auto stack =
            load_stack_text(with_route("service = \"v1\"\nmirror = \"v2\"\nmirror_percent = 10"), "stack.toml", no_env);
        CHECK(stack.balancer.routes.at(0).mirror == "v2");
        CHECK(stack.balancer.routes.at(0).mirror_percent == 10);
        CHECK(stack.logs_requests());  // the candidate is judged by its copies' answers
        stack = load_stack_text(with_route("service = \"v1\"\nmirror = \"v2\""), "stack.toml", no_env);
        CHECK(stack.balancer.routes.at(0).mirror_percent == 100);
        stack = load_stack_text(with_route("service = \"v1\""), "stack.toml", no_env);
        CHECK(stack.balancer.routes.at(0).mirror.empty());
        CHECK_FALSE(stack.logs_requests());
    }

    TEST_CASE("mirror mistakes, each at its place") {
        CHECK(errors_of(with_route("service = \"v1\"\nmirror = \"v3\"")) ==
              "stack.toml:13:10: route to unknown service 'v3'; did you mean 'v1'?");
        CHECK(errors_of(with_route("service = \"v1\"\nmirror = \"v1\"")) ==
              "stack.toml:13:10: service 'v1' already answers this route; a mirror gets copies of requests another "
              "service answers: name a service that is not in 'service' or 'backends'");
        CHECK(errors_of(with_route("backends = [{ service = \"v1\", weight = 90 }, { service = \"v2\", weight = 10 "
                                   "}]\nmirror = \"v2\""))
                  .find("stack.toml:13:10: service 'v2' already answers this route") == 0);
        CHECK(errors_of(with_route("service = \"v1\"\nmirror = \"v2\"\nmirror_percent = 101")) ==
              "stack.toml:14:18: 'mirror_percent' must be between 0 and 100, not 101");
        CHECK(errors_of(with_route("service = \"v1\"\nmirror_percent = 50")) ==
              "stack.toml:13:18: 'mirror_percent' is the share of requests copied to 'mirror', which this route "
              "does not have; add mirror = \"SERVICE\" or remove it");
        CHECK(errors_of(with_route("service = \"v1\"\nmirror = \"v2\"\nmirror_percent = \"50%\""))
                  .find("stack.toml:14:18:") == 0);
        CHECK(errors_of(with_route("service = \"v1\"\nmirror = 2")).find("stack.toml:13:10:") == 0);
    }

    TEST_CASE("stack.json keeps the mirror; a changed mirror is a changed route") {
        const auto stack =
            load_stack_text(with_route("service = \"v1\"\nmirror = \"v2\"\nmirror_percent = 30"), "stack.toml", no_env);
        const auto back = stack_from_json(to_json(stack, false));
        CHECK(back.balancer.routes.at(0).mirror == "v2");
        CHECK(back.balancer.routes.at(0).mirror_percent == 30);
        CHECK(back.balancer.routes.at(0).same_in_file(stack.balancer.routes.at(0)));
        auto changed = stack.balancer.routes.at(0);
        changed.mirror_percent = 40;
        CHECK_FALSE(changed.same_in_file(stack.balancer.routes.at(0)));
    }

    TEST_CASE("stack.json keeps backends, sticky, max_inflight and the live split") {
        auto stack = load_stack_text(
            with_route("backends = [{ service = \"v1\", weight = 90 }, { service = \"v2\", weight = 10 }]\n"
                       "sticky = \"cookie:session\"",
                       "max_inflight = 3\n"),
            "stack.toml", no_env);
        stack.balancer.routes[0].live = std::vector<Backend>{{"v1", 40}, {"v2", 60}};
        const auto back = stack_from_json(to_json(stack, false));
        const auto& route = back.balancer.routes.at(0);
        CHECK(route.backends == std::vector<Backend>{{"v1", 90}, {"v2", 10}});
        CHECK(route.split() == std::vector<Backend>{{"v1", 40}, {"v2", 60}});
        CHECK(route.sticky == "cookie:session");
        CHECK(back.services.at(0).max_inflight == 3);
        CHECK(route.same_in_file(stack.balancer.routes[0]));
    }
}
