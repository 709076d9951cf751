// The resolved stack as JSON (kept inside the balancer) and as TOML (`mldeploy
// config`): a lossless JSON round trip, secrets redacted on request, TOML that
// parses again.
#include "stack/serialize.hpp"
#include "temp_dir.hpp"

#include "stack/load.hpp"

#include <doctest/doctest.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

using namespace mldeploy;
using namespace mldeploy::stack;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Every field set, most of them away from their defaults.
Stack full_stack() {
    Stack s;
    s.name = "shop";
    s.network = "shop-models";
    s.file = "/srv/stacks/shop/mldeploy.toml";
    s.dir = "/srv/stacks/shop";

    Service llm;
    llm.name = "llm";
    llm.build = Build{"/srv/stacks/shop/llm", "docker/Containerfile", {{"BASE", "python:3.12"}, {"EXTRA", "a b"}}, {}};
    llm.image = "localhost/shop/llm:latest";
    llm.port = 8000;
    llm.replicas = 3;
    llm.command = {"python", "-m", "serve", "--name=\"x y\"", ""};
    llm.env = {{"MODEL", "tiny-llama"},
               {"HF_TOKEN", "hf_abc123"},
               {"DB_PASSWORD", "hunter2"},
               {"OPENAI_API_KEY", "sk-live-xyz"},
               {"QUOTED", "he said \"hi\"\n\ttab \\ back"},
               {"UNICODE", "héllo ✓"},
               {"EMPTY", ""}};
    llm.volumes = {{"/srv/models", "/models", "ro", true}, {"hf-cache", "/root/.cache", "", false}};
    llm.restart = "on-failure";
    llm.health = Health{"/ready", 1500ms, 750ms, 7, 0ms};
    llm.resources.cpus = 2.5;
    llm.resources.memory_bytes = 8LL << 30;
    llm.resources.gpus = "all";
    llm.autoscale = Autoscale{2, 6, 1.5, 3s, 45s, {}};

    Service embed;
    embed.name = "embed";
    embed.image = "ghcr.io/acme/embed:1.2";
    embed.port = 9000;
    embed.replicas = 0;
    embed.restart = "always";
    embed.resources.gpus = "2";

    s.services = {llm, embed};

    s.balancer.image = "docker.io/library/nginx:1.27";
    s.balancer.port = 8443;
    s.balancer.host_ip = "127.0.0.1";
    s.balancer.algorithm = "least_conn";
    s.balancer.max_body_bytes = 1LL << 30;
    s.balancer.timeout = 90s;
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
    return s;
}

// Every serialized field. SourcePos is not serialized, on purpose.
void check_same(const Stack& a, const Stack& b) {
    CHECK(a.name == b.name);
    CHECK(a.network == b.network);
    CHECK(a.file == b.file);
    CHECK(a.dir == b.dir);
    REQUIRE(a.services.size() == b.services.size());
    for (std::size_t i = 0; i < a.services.size(); ++i) {
        const auto& x = a.services[i];
        const auto& y = b.services[i];
        CAPTURE(x.name);
        CHECK(x.name == y.name);
        REQUIRE(x.build.has_value() == y.build.has_value());
        if (x.build) {
            CHECK(x.build->context == y.build->context);
            CHECK(x.build->dockerfile == y.build->dockerfile);
            CHECK(x.build->args == y.build->args);
        }
        CHECK(x.image == y.image);
        CHECK(x.port == y.port);
        CHECK(x.replicas == y.replicas);
        CHECK(x.command == y.command);
        CHECK(x.env == y.env);
        REQUIRE(x.volumes.size() == y.volumes.size());
        for (std::size_t v = 0; v < x.volumes.size(); ++v) {
            CHECK(x.volumes[v].source == y.volumes[v].source);
            CHECK(x.volumes[v].target == y.volumes[v].target);
            CHECK(x.volumes[v].options == y.volumes[v].options);
            CHECK(x.volumes[v].is_bind == y.volumes[v].is_bind);
        }
        CHECK(x.restart == y.restart);
        REQUIRE(x.health.has_value() == y.health.has_value());
        if (x.health) {
            CHECK(x.health->path == y.health->path);
            CHECK(x.health->interval == y.health->interval);
            CHECK(x.health->timeout == y.health->timeout);
            CHECK(x.health->retries == y.health->retries);
            CHECK(x.health->start_period == y.health->start_period);
        }
        CHECK(x.resources.cpus == y.resources.cpus);
        CHECK(x.resources.memory_bytes == y.resources.memory_bytes);
        CHECK(x.resources.gpus == y.resources.gpus);
        REQUIRE(x.autoscale.has_value() == y.autoscale.has_value());
        if (x.autoscale) {
            CHECK(x.autoscale->min == y.autoscale->min);
            CHECK(x.autoscale->max == y.autoscale->max);
            CHECK(x.autoscale->target_inflight == y.autoscale->target_inflight);
            CHECK(x.autoscale->scale_up_delay == y.autoscale->scale_up_delay);
            CHECK(x.autoscale->scale_down_delay == y.autoscale->scale_down_delay);
        }
    }
    const auto& p = a.balancer;
    const auto& q = b.balancer;
    CHECK(p.image == q.image);
    CHECK(p.port == q.port);
    CHECK(p.host_ip == q.host_ip);
    CHECK(p.algorithm == q.algorithm);
    CHECK(p.max_body_bytes == q.max_body_bytes);
    CHECK(p.timeout == q.timeout);
    REQUIRE(p.routes.size() == q.routes.size());
    for (std::size_t i = 0; i < p.routes.size(); ++i) {
        CHECK(p.routes[i].path == q.routes[i].path);
        CHECK(p.routes[i].service == q.routes[i].service);
    }
}

using mldeploy::test::TempDir;

// full_stack() with its build context and bind mount made real under `dir`,
// so that the loader accepts them.
Stack full_stack_in(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir / "llm/docker");
    std::ofstream(dir / "llm/docker/Containerfile") << "FROM scratch\n";
    std::filesystem::create_directories(dir / "models");
    auto s = full_stack();
    s.file = dir / "mldeploy.toml";
    s.dir = dir;
    s.services[0].build->context = dir / "llm";
    s.services[0].volumes[0].source = (dir / "models").string();
    return s;
}

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

// The loader's result, or its diagnostics as a failed check.
std::optional<Stack> reload(const std::string& toml_text, const std::filesystem::path& file) {
    try {
        return load_stack_text(toml_text, file, no_env);
    } catch (const StackError& e) {
        FAIL_CHECK("to_toml output does not load: " << std::string(e.what()));
    }
    return std::nullopt;
}

void sort_services(Stack& s) {
    std::sort(s.services.begin(), s.services.end(), [](auto& a, auto& b) { return a.name < b.name; });
}

const toml::table& table_at(const toml::table& t, std::string_view key) {
    const auto* sub = t[key].as_table();
    REQUIRE_MESSAGE(sub != nullptr, "no table " << key);
    return *sub;
}

}  // namespace

TEST_SUITE("serialize") {
    TEST_CASE("to_json -> stack_from_json keeps every field") {
        const auto original = full_stack();
        check_same(stack_from_json(to_json(original, false)), original);
    }

    TEST_CASE("the JSON round trip survives text, as stored in the balancer") {
        const auto original = full_stack();
        const auto text = to_json(original, false).dump(2);
        const auto back = stack_from_json(json::parse(text));
        check_same(back, original);
        CHECK(to_json(back, false).dump(2) == text);
    }

    TEST_CASE("a minimal stack round-trips too: no build, health or resources") {
        Stack s;
        s.name = "tiny";
        s.network = "tiny_net";
        Service m;
        m.name = "m";
        m.image = "ghcr.io/acme/m:1";
        m.port = 80;
        s.services = {m};
        s.balancer.port = 8080;
        s.balancer.routes = {{"/", "m"}};

        const auto j = to_json(s, false);
        CHECK_FALSE(j["services"][0].contains("build"));
        CHECK_FALSE(j["services"][0].contains("health"));
        CHECK(j["services"][0]["resources"] == json::object());
        const auto back = stack_from_json(j);
        check_same(back, s);
        CHECK_FALSE(back.services[0].build.has_value());
        CHECK_FALSE(back.services[0].health.has_value());
        CHECK_FALSE(back.services[0].resources.cpus.has_value());
        CHECK_FALSE(back.services[0].resources.memory_bytes.has_value());
        CHECK_FALSE(back.services[0].resources.gpus.has_value());
    }

    TEST_CASE("stack_from_json throws on bad input") {
        auto j = to_json(full_stack(), false);
        SUBCASE("missing name") { j.erase("name"); }
        SUBCASE("missing balancer") { j.erase("balancer"); }
        SUBCASE("port of the wrong type") { j["services"][0]["port"] = "8000"; }
        SUBCASE("services not an array of objects") { j["services"] = json::array({1}); }
        CHECK_THROWS_AS(stack_from_json(j), json::exception);
    }

    TEST_CASE("looks_secret") {
        for (const char* name :
             {"HF_TOKEN", "TOKEN", "DB_PASSWORD", "PASSWORD", "OPENAI_API_KEY", "API_KEY", "AWS_SECRET_ACCESS_KEY",
              "hf_token", "Api_Key", "GITHUB_PASSWD", "AUTH_HEADER", "GOOGLE_APPLICATION_CREDENTIALS", "DB_PASS",
              "DATABASE_URL", "BEARER", "SENTRY_DSN", "SESSION_COOKIE", "TLS_CERT"}) {
            CAPTURE(name);
            CHECK(looks_secret(name));
        }
        for (const char* name : {"MODEL", "LOG_LEVEL", "PORT", "HF_HOME", "WORKERS", ""}) {
            CAPTURE(name);
            CHECK_FALSE(looks_secret(name));
        }
    }

    TEST_CASE("value_looks_secret: URLs with a password and authorization values") {
        for (const char* value : {"postgres://app:hunter2@db:5432/app", "https://user:pw@example.org/x",
                                  "Bearer abc.def", "basic dXNlcjpwdw=="}) {
            CAPTURE(value);
            CHECK(value_looks_secret(value));
        }
        for (const char* value :
             {"http://db:5432/app", "https://example.org/a@b", "user@example.org", "1", "", "redis://cache:6379"}) {
            CAPTURE(value);
            CHECK_FALSE(value_looks_secret(value));
        }
    }

    TEST_CASE("to_json redacts secret-looking env values only when asked") {
        const auto s = full_stack();
        const auto env = to_json(s, true)["services"][0]["env"];
        CHECK(env["HF_TOKEN"] == "***");
        CHECK(env["DB_PASSWORD"] == "***");
        CHECK(env["OPENAI_API_KEY"] == "***");
        CHECK(env["MODEL"] == "tiny-llama");
        CHECK(env["EMPTY"] == "");
        CHECK(env.size() == s.services[0].env.size());  // the names stay, only values go

        const auto dumped = to_json(s, true).dump();
        for (const char* secret : {"hf_abc123", "hunter2", "sk-live-xyz"}) {
            CAPTURE(secret);
            CHECK(dumped.find(secret) == std::string::npos);
        }

        const auto plain = to_json(s, false)["services"][0]["env"];
        CHECK(plain["HF_TOKEN"] == "hf_abc123");
        CHECK(plain["DB_PASSWORD"] == "hunter2");
        CHECK(plain["OPENAI_API_KEY"] == "sk-live-xyz");
    }

    TEST_CASE("to_toml redacts secret-looking env values only when asked") {
        const auto s = full_stack();
        const auto redacted = to_toml(s, true);
        for (const char* secret : {"hf_abc123", "hunter2", "sk-live-xyz"}) {
            CAPTURE(secret);
            CHECK(redacted.find(secret) == std::string::npos);
        }
        const auto env = table_at(table_at(table_at(toml::parse(redacted), "services"), "llm"), "env");
        CHECK(env["HF_TOKEN"].value<std::string>() == "***");
        CHECK(env["DB_PASSWORD"].value<std::string>() == "***");
        CHECK(env["OPENAI_API_KEY"].value<std::string>() == "***");
        CHECK(env["MODEL"].value<std::string>() == "tiny-llama");

        const auto plain = to_toml(s, false);
        CHECK(plain.find("hf_abc123") != std::string::npos);
        CHECK(plain.find("hunter2") != std::string::npos);
        CHECK(plain.find("sk-live-xyz") != std::string::npos);
    }

    TEST_CASE("to_toml output parses again with toml++ and holds the stack") {
        const auto s = full_stack();
        const auto text = to_toml(s, false);
        toml::table root;
        try {
            root = toml::parse(text);
        } catch (const toml::parse_error& e) {
            FAIL("to_toml output does not parse: " << e.description() << " at line " << e.source().begin.line << "\n"
                                                   << text);
        }

        CHECK(root["name"].value<std::string>() == "shop");
        CHECK(root["network"]["name"].value<std::string>() == "shop-models");

        const auto& services = table_at(root, "services");
        CHECK(services.size() == 2);
        const auto& llm = table_at(services, "llm");
        CHECK(llm["image"].value<std::string>() == "localhost/shop/llm:latest");
        CHECK(llm["port"].value<int64_t>() == 8000);
        CHECK(llm["replicas"].value<int64_t>() == 3);
        CHECK(llm["restart"].value<std::string>() == "on-failure");
        CHECK(llm["build"]["context"].value<std::string>() == "/srv/stacks/shop/llm");
        CHECK(llm["build"]["dockerfile"].value<std::string>() == "docker/Containerfile");
        CHECK(llm["build"]["args"]["EXTRA"].value<std::string>() == "a b");

        const auto* command = llm["command"].as_array();
        REQUIRE(command != nullptr);
        REQUIRE(command->size() == s.services[0].command.size());
        for (std::size_t i = 0; i < command->size(); ++i)
            CHECK((*command)[i].value<std::string>() == s.services[0].command[i]);

        const auto& env = table_at(llm, "env");
        CHECK(env.size() == s.services[0].env.size());
        for (const auto& [k, v] : s.services[0].env) {
            CAPTURE(k);
            CHECK(env[k].value<std::string>() == v);
        }

        const auto* volumes = llm["volumes"].as_array();
        REQUIRE(volumes != nullptr);
        REQUIRE(volumes->size() == 2);
        CHECK((*volumes)[0].value<std::string>() == "/srv/models:/models:ro");
        CHECK((*volumes)[1].value<std::string>() == "hf-cache:/root/.cache");

        CHECK(llm["health"]["path"].value<std::string>() == "/ready");
        CHECK(llm["health"]["interval"].value<std::string>() == "1500ms");
        CHECK(llm["health"]["timeout"].value<std::string>() == "750ms");
        CHECK(llm["health"]["retries"].value<int64_t>() == 7);
        CHECK(llm["health"]["start_period"].value<std::string>() == "0s");

        CHECK(llm["resources"]["cpus"].value<double>() == 2.5);
        CHECK(llm["resources"]["memory"].value<std::string>() == "8g");
        CHECK(llm["resources"]["gpus"].value<std::string>() == "all");
        CHECK(llm["autoscale"]["min"].value<int64_t>() == 2);
        CHECK(llm["autoscale"]["max"].value<int64_t>() == 6);
        CHECK(llm["autoscale"]["target_inflight"].value<double>() == 1.5);
        CHECK(llm["autoscale"]["scale_up_delay"].value<std::string>() == "3s");
        CHECK(llm["autoscale"]["scale_down_delay"].value<std::string>() == "45s");

        const auto& embed = table_at(services, "embed");
        CHECK(embed["replicas"].value<int64_t>() == 0);
        CHECK_FALSE(embed.contains("build"));
        CHECK_FALSE(embed.contains("command"));  // empty = the image's default
        CHECK_FALSE(embed.contains("health"));

        const auto& b = table_at(root, "balancer");
        CHECK(b["image"].value<std::string>() == "docker.io/library/nginx:1.27");
        CHECK(b["port"].value<int64_t>() == 8443);
        CHECK(b["host_ip"].value<std::string>() == "127.0.0.1");
        CHECK(b["algorithm"].value<std::string>() == "least_conn");
        CHECK(b["max_body"].value<std::string>() == "1g");
        CHECK(b["timeout"].value<std::string>() == "90s");
        const auto* routes = b["routes"].as_array();
        REQUIRE(routes != nullptr);
        REQUIRE(routes->size() == 2);
        CHECK((*routes)[0].as_table()->at("path").value<std::string>() == "/v1/embeddings");
        CHECK((*routes)[0].as_table()->at("service").value<std::string>() == "embed");
        CHECK((*routes)[1].as_table()->at("path").value<std::string>() == "/");
        CHECK((*routes)[1].as_table()->at("service").value<std::string>() == "llm");
    }

    TEST_CASE("to_toml of a redacted stack parses too") { CHECK_NOTHROW(toml::parse(to_toml(full_stack(), true))); }

    TEST_CASE("to_toml output loads back as the same stack (services compared by name)") {
        TempDir dir;
        auto original = full_stack_in(dir.path());
        original.services[1].resources.gpus = "all";  // see the skipped case below for a count
        auto back = reload(to_toml(original, false), original.file);
        REQUIRE(back.has_value());
        // The TOML writer orders tables by key: services come back sorted by name.
        sort_services(*back);
        sort_services(original);
        check_same(*back, original);
    }

    // Regressions: these were bugs in to_toml.
    //
    // Known bug: to_toml writes a GPU count as a string (gpus = '2'), which the
    // loader refuses ("'gpus' must be a count or \"all\""): the output of
    // `mldeploy config` for such a stack is not a valid stack file.
    TEST_CASE("to_toml writes a GPU count that the loader accepts") {
        TempDir dir;
        auto original = full_stack_in(dir.path());
        original.services[1].resources.gpus = "2";
        auto back = reload(to_toml(original, false), original.file);
        REQUIRE(back.has_value());
        const auto* embed = back->find_service("embed");
        REQUIRE(embed != nullptr);
        CHECK(embed->resources.gpus == std::optional<std::string>("2"));
    }

    // Known bug: to_toml writes resolved values as they are, but the loader
    // interpolates '$' again: "pa$word" loads back as an error (variable 'word' is
    // not set) or, with $word set, as a different value. '$' needs writing as "$$".
    TEST_CASE("to_toml keeps a '$' in a value through a reload") {
        TempDir dir;
        auto original = full_stack_in(dir.path());
        original.services[1].resources.gpus = "all";
        original.services[0].env["PASSWORD_HINT"] = "pa$word and $$ and ${X}";
        auto back = reload(to_toml(original, false), original.file);
        REQUIRE(back.has_value());
        const auto* llm = back->find_service("llm");
        REQUIRE(llm != nullptr);
        CHECK(llm->env.at("PASSWORD_HINT") == "pa$word and $$ and ${X}");
    }

}  // TEST_SUITE
