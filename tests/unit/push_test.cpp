// `mldeploy push`: image references, registry credentials, the engines' push
// calls (through a real socket) and the push plan on the fake engine.
#include "deploy/push.hpp"
#include "deploy_world.hpp"
#include "engine/docker.hpp"
#include "engine/podman.hpp"
#include "engine/registry_auth.hpp"
#include "fake_engine_server.hpp"
#include "temp_dir.hpp"
#include "util/base64.hpp"
#include "util/image_ref.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace mldeploy;
using namespace mldeploy::test;

namespace {

std::string header_value(const FakeRequest& r, std::string_view name) {
    for (const auto& h : r.headers)
        if (h.size() > name.size() + 1 && h.compare(0, name.size(), name) == 0 && h[name.size()] == ':')
            return h.substr(name.size() + 2);
    return {};
}

stack::Service built_service(std::string name, std::string image) {
    stack::Service s;
    s.name = std::move(name);
    s.image = std::move(image);
    s.port = 8000;
    stack::Build b;
    b.context = "/nonexistent-context";
    s.build = b;
    return s;
}

}  // namespace

TEST_SUITE("push") {
    TEST_CASE("base64: standard and URL-safe alphabets, round trip") {
        CHECK(util::base64_encode("user:pass") == "dXNlcjpwYXNz");
        CHECK(util::base64_encode("a") == "YQ==");
        CHECK(util::base64_encode("ab") == "YWI=");
        CHECK(util::base64url_encode("\xfb\xff") == "-_8=");
        CHECK(util::base64_decode("dXNlcjpwYXNz") == std::optional<std::string>("user:pass"));
        CHECK(util::base64_decode("YQ") == std::optional<std::string>("a"));
        CHECK(util::base64_decode("-_8=") == std::optional<std::string>("\xfb\xff"));
        CHECK_FALSE(util::base64_decode("not base64!"));
    }

    TEST_CASE("which registry an image reference names") {
        CHECK(util::registry_of("127.0.0.1:5000/team/model:1") == std::optional<std::string>("127.0.0.1:5000"));
        CHECK(util::registry_of("registry.example/model") == std::optional<std::string>("registry.example"));
        CHECK(util::registry_of("localhost:5000/model:1") == std::optional<std::string>("localhost:5000"));
        CHECK_FALSE(util::registry_of("localhost/team/model:1"));  // Podman's local images
        CHECK_FALSE(util::registry_of("team/model:1"));
        CHECK_FALSE(util::registry_of("model"));
        CHECK(util::is_loopback_registry("127.0.0.1:5000"));
        CHECK(util::is_loopback_registry("localhost:5000"));
        CHECK(util::is_loopback_registry("[::1]:5000"));
        CHECK_FALSE(util::is_loopback_registry("registry.example:5000"));
        CHECK_FALSE(util::is_loopback_registry("10.0.0.1:5000"));
    }

    TEST_CASE("credentials from auth.json and ~/.docker/config.json, the first file that has them") {
        TempDir dir;
        const auto podman = dir.path() / "auth.json";
        const auto docker = dir.path() / "config.json";
        std::ofstream(podman) << R"({"auths": {"127.0.0.1:5000": {"auth": ")" << util::base64_encode("alice:s3cret")
                              << R"("}}})";
        std::ofstream(docker) << R"({"auths": {"https://registry.example/v1/": {"auth": ")"
                              << util::base64_encode("bob:pw:with:colons") << R"("},
                                 "127.0.0.1:5000": {"auth": ")"
                              << util::base64_encode("carol:other") << R"("}},
                                 "credsStore": "desktop"})";
        const std::vector<std::filesystem::path> files{dir.path() / "missing.json", podman, docker};
        const auto local = engine::find_registry_auth("127.0.0.1:5000", files);
        REQUIRE(local);
        CHECK(local->username == "alice");
        CHECK(local->password == "s3cret");
        CHECK(local->server == "127.0.0.1:5000");
        const auto remote = engine::find_registry_auth("registry.example", files);
        REQUIRE(remote);
        CHECK(remote->username == "bob");
        CHECK(remote->password == "pw:with:colons");
        CHECK_FALSE(engine::find_registry_auth("other.example", files));

        std::ofstream(podman, std::ios::trunc) << "not json";
        CHECK_THROWS_WITH_AS(engine::find_registry_auth("127.0.0.1:5000", files), doctest::Contains("auth.json"),
                             std::runtime_error);
    }

    TEST_CASE("X-Registry-Auth is base64url JSON of username, password and server") {
        const auto header = engine::x_registry_auth({"alice", "s3cret", "127.0.0.1:5000"});
        const auto decoded = util::base64_decode(header);
        REQUIRE(decoded);
        const auto j = nlohmann::json::parse(*decoded);
        CHECK(j["username"] == "alice");
        CHECK(j["password"] == "s3cret");
        CHECK(j["serveraddress"] == "127.0.0.1:5000");
    }

    TEST_CASE("engines: push paths, the credentials header, and a refusal inside a 200 stream") {
        FakeEngineServer server([](const FakeRequest& r) -> FakeAnswer {
            if (!header_value(r, "X-Registry-Auth").empty() &&
                nlohmann::json::parse(*util::base64_decode(header_value(r, "X-Registry-Auth")))["password"] == "bad")
                return {
                    200,
                    R"({"status":"Preparing","id":"abc"})"
                    "\n"
                    R"({"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"})"};
            return {200, R"({"status":"Pushing","id":"abc"})"
                         "\n"
                         R"({"status":"Pushed","id":"abc"})"};
        });
        engine::DockerEngine docker(server.socket_path());
        engine::PodmanEngine podman(server.socket_path());
        std::vector<std::string> lines;
        docker.push_image("127.0.0.1:5000/team/model:1", engine::RegistryAuth{"alice", "good", "127.0.0.1:5000"},
                          [&](std::string_view l) { lines.emplace_back(l); });
        podman.push_image("127.0.0.1:5000/team/model:1", std::nullopt, [](std::string_view) {});
        podman.push_image("registry.example/model:1", std::nullopt, [](std::string_view) {});
        const auto requests = server.requests();
        REQUIRE(requests.size() == 3);
        CHECK(requests[0].target.find("/images/127.0.0.1") != std::string::npos);
        CHECK(requests[0].target.find("/push?tag=1") != std::string::npos);
        CHECK_FALSE(header_value(requests[0], "X-Registry-Auth").empty());
        CHECK(lines == std::vector<std::string>{"abc: Pushing", "abc: Pushed"});
        CHECK(requests[1].target.find("/libpod/images/") != std::string::npos);
        CHECK(requests[1].target.find("tlsVerify=false") != std::string::npos);               // loopback: plain HTTP
        CHECK(header_value(requests[1], "X-Registry-Auth") == util::base64url_encode("{}"));  // none: {}
        CHECK(requests[2].target.find("tlsVerify") == std::string::npos);
        for (engine::Engine* e : {static_cast<engine::Engine*>(&docker), static_cast<engine::Engine*>(&podman)}) {
            CHECK_THROWS_WITH_AS(
                e->push_image("127.0.0.1:5000/m:1", engine::RegistryAuth{"alice", "bad", "x"}, [](std::string_view) {}),
                doctest::Contains("unauthorized: authentication required"), engine::EngineError);
        }
    }

    TEST_CASE("the push plan: services with a build by default, images named once, refusals before any push") {
        stack::Stack s;
        s.name = "demo";
        s.services = {built_service("a", "127.0.0.1:5000/demo/a:1"), built_service("b", "127.0.0.1:5000/demo/a:1"),
                      built_service("c", "registry.example/demo/c:2")};
        stack::Service pulled;
        pulled.name = "d";
        pulled.image = "docker.io/library/nginx:stable";
        s.services.push_back(pulled);
        const auto all = deploy::plan_push(s, {});
        REQUIRE(all.size() == 2);
        CHECK(all[0].image == "127.0.0.1:5000/demo/a:1");
        CHECK(all[0].services == std::vector<std::string>{"a", "b"});
        CHECK(all[0].registry == "127.0.0.1:5000");
        CHECK(all[1].registry == "registry.example");
        CHECK(deploy::plan_push(s, {"d"}).at(0).build == nullptr);
        CHECK_THROWS_WITH_AS(deploy::plan_push(s, {"nope"}), doctest::Contains("no service 'nope'"),
                             deploy::PushRefused);
        s.services.push_back(built_service("local", "localhost/demo/local:1"));
        CHECK_THROWS_WITH_AS(deploy::plan_push(s, {}), doctest::Contains("registry.example:5000/demo/local:1"),
                             deploy::PushRefused);
    }

    TEST_CASE("push on the fake engine: an image that is not there is an error that says to pull or build") {
        World w;
        stack::Stack s;
        s.name = "demo";
        stack::Service pulled;
        pulled.name = "d";
        pulled.image = "registry.example/demo/d:1";
        s.services = {pulled};
        const auto items = deploy::plan_push(s, {"d"});
        CHECK_THROWS_WITH_AS(deploy::push_images(
                                 w.engine, items, [](const std::string&) { return std::nullopt; }, w.out),
                             doctest::Contains("pull or build it first"), engine::EngineError);
        w.engine.add_image("registry.example/demo/d:1", "sha256:d1");
        deploy::push_images(
            w.engine, items,
            [](const std::string& r) {
                return std::optional<engine::RegistryAuth>({"alice", "pw", r});
            },
            w.out);
        const auto calls = w.engine.calls();
        const auto push = index_of(calls, call_is("push_image", "registry.example/demo/d:1"));
        REQUIRE(push >= 0);
        CHECK(calls[static_cast<size_t>(push)].args == std::vector<std::string>{"alice"});
    }
}
