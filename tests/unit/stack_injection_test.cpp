// Service names and paths are written into the balancer's nginx configuration
// (upstream names, location blocks, health checks). No value that passes loading
// may carry anything nginx would read as syntax: whitespace ends a token, ';' ends
// a directive, braces open and close blocks, quotes and '\' change tokenising, '$'
// expands variables and '#' starts a comment.
#include "stack/load.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using namespace mldeploy::stack;

namespace {

constexpr std::string_view nginx_syntax = " \t\r\n;{}\"'\\$#";

EnvLookup env_with(std::string name, std::string value) {
    return [name = std::move(name), value = std::move(value)](const std::string& asked) -> std::optional<std::string> {
        if (asked == name) return value;
        return std::nullopt;
    };
}

const EnvLookup no_env = [](const std::string&) { return std::optional<std::string>(); };

bool loads(const std::string& text, const EnvLookup& env = no_env) {
    try {
        load_stack_text(text, "stack.toml", env);
        return true;
    } catch (const StackError&) {
        return false;
    }
}

// TOML basic-string escaping, so that any byte can be put into a test stack.
std::string toml_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string stack_with_route(std::string_view route_path) {
    return "name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = 5000\n[balancer]\nport = 8080\n"
           "[[balancer.routes]]\nservice = \"recommender\"\npath = " +
           toml_string(route_path) + "\n";
}

std::string stack_with_health_path(std::string_view health_path) {
    return "name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = 5000\nhealth = { path = " +
           toml_string(health_path) + " }\n[balancer]\nport = 8080\n";
}

std::string stack_with_service(std::string_view service_name) {
    return "name = \"movies\"\n[services." + toml_string(service_name) +
           "]\nimage = \"x\"\nport = 5000\n[balancer]\nport = 8080\n";
}

}  // namespace

TEST_SUITE("stack: no nginx injection") {
    TEST_CASE("the examples load, so the checks below test the values alone") {
        CHECK(loads(stack_with_route("/recommend/v1")));
        CHECK(loads(stack_with_health_path("/healthz")));
        CHECK(loads(stack_with_service("recommender")));
    }

    TEST_CASE("a route path that tries to add a directive or a block") {
        CHECK_FALSE(loads(stack_with_route("/x; return 200 owned")));
        CHECK_FALSE(loads(stack_with_route("/x { } location /admin")));
        CHECK_FALSE(loads(stack_with_route("/x\n    proxy_pass http://evil")));
        CHECK_FALSE(loads(stack_with_route("/x # comment out the rest")));
        CHECK_FALSE(loads(stack_with_route("/$host")));
        CHECK_FALSE(loads(stack_with_route("/\"x\"")));
    }

    TEST_CASE("a service name that tries the same") {
        CHECK_FALSE(loads(stack_with_service("a;b")));
        CHECK_FALSE(loads(stack_with_service("a { server evil:80; }")));
        CHECK_FALSE(loads(stack_with_service("a\nb")));
    }

    TEST_CASE("a value smuggled in through a variable is checked too") {
        const std::string text =
            "name = \"movies\"\n[services.recommender]\nimage = \"x\"\nport = 5000\n"
            "health = { path = \"${HEALTH}\" }\n[balancer]\nport = 8080\n"
            "[[balancer.routes]]\nservice = \"recommender\"\npath = \"${ROUTE}\"\n";
        CHECK(loads(text, [](const std::string& name) -> std::optional<std::string> {
            return name == "HEALTH" ? "/healthz" : "/api";
        }));
        CHECK_FALSE(loads(text, [](const std::string& name) -> std::optional<std::string> {
            return name == "HEALTH" ? "/healthz" : "/api; return 200";
        }));
        CHECK_FALSE(loads(text, [](const std::string& name) -> std::optional<std::string> {
            return name == "HEALTH" ? "/h }" : "/api";
        }));
        CHECK_FALSE(loads("name = \"${N}\"\n[services.a]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n",
                          env_with("N", "a;b")));
    }

    TEST_CASE("no character nginx reads as syntax gets through, anywhere in a name or path") {
        for (char c : nginx_syntax) {
            const std::string bad(1, c);
            CAPTURE(static_cast<int>(c));
            CHECK_FALSE(loads(stack_with_route("/a" + bad + "b")));
            CHECK_FALSE(loads(stack_with_route("/ab" + bad)));
            CHECK_FALSE(loads(stack_with_health_path("/a" + bad + "b")));
            CHECK_FALSE(loads(stack_with_service("a" + bad + "b")));
        }
    }

    TEST_CASE("every byte that passes in a path is plain ASCII and no syntax") {
        for (int byte = 1; byte < 256; ++byte) {
            const char c = static_cast<char>(byte);
            if (!loads(stack_with_route(std::string("/a") + c))) continue;
            CAPTURE(byte);
            CHECK(byte >= 0x21);
            CHECK(byte < 0x7f);
            CHECK(nginx_syntax.find(c) == std::string_view::npos);
        }
    }
}
