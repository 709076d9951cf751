// The shared REST engine and its flavours' quirks, through a real socket and
// curl against an in-process server with canned answers: error kinds, the
// Podman empty-logs retry, exec_stream, inspect's new fields.
#include "engine/docker.hpp"
#include "engine/podman.hpp"
#include "fake_engine_server.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace mldeploy::engine;
using mldeploy::test::FakeAnswer;
using mldeploy::test::FakeEngineServer;
using mldeploy::test::FakeRequest;
using mldeploy::test::frame;

namespace {

// The kind of the EngineError that `call` throws; fails the test if none.
template <typename F>
ErrorKind kind_of(F&& call) {
    try {
        call();
    } catch (const EngineError& e) {
        return e.kind();
    }
    FAIL("no EngineError");
    return ErrorKind::engine;
}

FakeAnswer error(int status, const std::string& message) {
    return {status, nlohmann::json{{"message", message}, {"response", status}}.dump()};
}

int count_of(const std::vector<FakeRequest>& requests, std::string_view target_start) {
    int n = 0;
    for (const auto& r : requests) {
        n += r.target.starts_with(target_start) ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("error kinds from the status, on both flavours") {
    FakeEngineServer server([](const FakeRequest& r) {
        if (r.target.find("/containers/missing/") != std::string::npos) return error(404, "no such container");
        if (r.target.find("/containers/taken/") != std::string::npos) return error(409, "name in use");
        return error(500, "something broke");
    });
    PodmanEngine podman(server.socket_path());
    DockerEngine docker(server.socket_path());
    for (Engine* engine : {static_cast<Engine*>(&podman), static_cast<Engine*>(&docker)}) {
        CHECK(kind_of([&] { engine->start_container("missing"); }) == ErrorKind::not_found);
        CHECK(kind_of([&] { engine->rename_container("taken", "x"); }) == ErrorKind::conflict);
        CHECK(kind_of([&] { engine->inspect_container("other"); }) == ErrorKind::engine);
        try {
            engine->inspect_container("missing");
            FAIL("no EngineError");
        } catch (const EngineError& e) {
            CHECK(e.not_found());
            CHECK_FALSE(e.conflict());
            CHECK(e.http_status() == 404);
            CHECK(std::string(e.what()) == "inspect container missing: no such container");
        }
    }
}

TEST_CASE("a transport failure is kind transport, with how to start the engine") {
    mldeploy::test::TempDir dir;
    const std::string nowhere = (dir.path() / "none.sock").string();
    try {
        PodmanEngine(nowhere).start_container("x");
        FAIL("no EngineError");
    } catch (const EngineError& e) {
        CHECK(e.kind() == ErrorKind::transport);
        CHECK_FALSE(e.not_found());
        CHECK(std::string(e.what()).find("is `podman system service` running?") != std::string::npos);
    }
    CHECK(kind_of([&] { DockerEngine(nowhere).inspect_container("x"); }) == ErrorKind::transport);
}

TEST_CASE("Podman's 500 quirks: a name in use is a conflict, a vanished container not_found") {
    FakeEngineServer server([](const FakeRequest& r) {
        if (r.target.ends_with("/containers/create"))
            return error(500, "creating container storage: the container name \"a\" is already in use by b");
        return error(500, "container c9f2 does not exist in database: no such container");
    });
    PodmanEngine podman(server.socket_path());
    ContainerSpec spec;
    spec.name = "a";
    spec.image = "i";
    CHECK(kind_of([&] { podman.create_container(spec); }) == ErrorKind::conflict);
    CHECK(kind_of([&] { podman.stop_container("c9f2", 1); }) == ErrorKind::not_found);
    // Docker says 500 only for what it means: no reinterpretation there.
    DockerEngine docker(server.socket_path());
    CHECK(kind_of([&] { docker.stop_container("c9f2", 1); }) == ErrorKind::engine);
}

TEST_CASE("a spec the flavour cannot express is refused before sending, as kind engine") {
    FakeEngineServer server([](const FakeRequest&) { return FakeAnswer{201, R"({"Id":"x"})"}; });
    ContainerSpec spec;
    spec.name = "a";
    spec.image = "i";
    spec.stop_signal = "SIGNOPE";
    PodmanEngine podman(server.socket_path());
    DockerEngine docker(server.socket_path());
    CHECK(kind_of([&] { podman.create_container(spec); }) == ErrorKind::engine);
    CHECK(kind_of([&] { docker.create_container(spec); }) == ErrorKind::engine);
    CHECK(server.requests().empty());
}

TEST_CASE("Podman: a log request that answers nothing is asked again, 3 more times at most") {
    SUBCASE("nothing at all: 4 requests, no line") {
        FakeEngineServer server([](const FakeRequest&) { return FakeAnswer{200, "", "application/octet-stream"}; });
        PodmanEngine podman(server.socket_path());
        podman.empty_logs_retry_delay = std::chrono::milliseconds(1);
        int lines = 0;
        podman.logs("c", false, 20, [&](LogStream, std::string_view) { ++lines; });
        CHECK(lines == 0);
        CHECK(count_of(server.requests(), "/v4.0.0/libpod/containers/c/logs") == 4);
    }
    SUBCASE("the second answer has the lines: 2 requests") {
        std::atomic<int> asked{0};
        FakeEngineServer server([&](const FakeRequest&) {
            const std::string body = ++asked == 1 ? "" : frame(1, "one\n") + frame(2, "two\n");
            return FakeAnswer{200, body, "application/octet-stream"};
        });
        PodmanEngine podman(server.socket_path());
        podman.empty_logs_retry_delay = std::chrono::milliseconds(1);
        std::vector<std::pair<LogStream, std::string>> lines;
        podman.logs("c", false, std::nullopt, [&](LogStream s, std::string_view l) { lines.emplace_back(s, l); });
        CHECK(lines ==
              std::vector<std::pair<LogStream, std::string>>{{LogStream::stdout_, "one"}, {LogStream::stderr_, "two"}});
        CHECK(server.requests().size() == 2);
        CHECK(server.requests()[1].target == "/v4.0.0/libpod/containers/c/logs?stdout=true&stderr=true&follow=false");
    }
    SUBCASE("Docker asks once") {
        FakeEngineServer server([](const FakeRequest&) { return FakeAnswer{200, "", "application/octet-stream"}; });
        DockerEngine docker(server.socket_path());
        docker.logs("c", false, 5, [](LogStream, std::string_view) {});
        REQUIRE(server.requests().size() == 1);
        CHECK(server.requests()[0].target == "/v1.41/containers/c/logs?stdout=1&stderr=1&follow=0&tail=5");
    }
}

TEST_CASE(
    "exec_stream sends each line as it comes and returns the exit code; exec collects; exec_output passes bytes") {
    FakeEngineServer server([](const FakeRequest& r) {
        if (r.target.ends_with("/containers/c/exec")) return FakeAnswer{201, R"({"Id":"e1"})"};
        if (r.target.ends_with("/exec/e1/start"))
            return FakeAnswer{
                200, frame(1, "draining") + frame(1, " 3\ndone\n") + frame(2, "warn\n") + frame(1, "no newline"),
                "application/vnd.docker.raw-stream"};
        if (r.target.ends_with("/exec/e1/json")) return FakeAnswer{200, R"({"Running":false,"ExitCode":7})"};
        return error(404, "unexpected " + r.target);
    });
    for (const bool docker : {false, true}) {
        CAPTURE(docker);
        std::unique_ptr<Engine> engine;
        if (docker) {
            engine = std::make_unique<DockerEngine>(server.socket_path());
        } else {
            engine = std::make_unique<PodmanEngine>(server.socket_path());
        }
        std::vector<std::pair<LogStream, std::string>> lines;
        const int code = engine->exec_stream("c", {"sh", "-c", "drain"},
                                             [&](LogStream s, std::string_view l) { lines.emplace_back(s, l); });
        CHECK(code == 7);
        CHECK(lines == std::vector<std::pair<LogStream, std::string>>{{LogStream::stdout_, "draining 3"},
                                                                      {LogStream::stdout_, "done"},
                                                                      {LogStream::stderr_, "warn"},
                                                                      {LogStream::stdout_, "no newline"}});
        const ExecResult result = engine->exec("c", {"true"});
        CHECK(result.exit_code == 7);
        CHECK(result.output == "draining 3\ndone\nwarn\nno newline");
        // exec_output (mldeploy exec): each frame's bytes as they are, no line cut and none added.
        std::string out, err;
        CHECK(engine->exec_output("c", {"sh"}, [&](LogStream s, std::string_view b) {
            (s == LogStream::stderr_ ? err : out).append(b);
        }) == 7);
        CHECK(out == "draining 3\ndone\nno newline");
        CHECK(err == "warn\n");
    }
    const auto requests = server.requests();
    REQUIRE(!requests.empty());
    CHECK(nlohmann::json::parse(requests[0].body) == nlohmann::json::parse(R"({"AttachStdout": true,
        "AttachStderr": true, "AttachStdin": false, "Tty": false, "Cmd": ["sh", "-c", "drain"]})"));
}

TEST_CASE("inspect: env from Config.Env and the start time as the engine gives it") {
    FakeEngineServer server([](const FakeRequest& r) {
        if (r.target.find("/containers/never/") != std::string::npos)
            return FakeAnswer{200, R"({"Id":"n","Name":"never","State":{"Status":"created",
              "StartedAt":"0001-01-01T00:00:00Z"},"Config":{}})"};
        return FakeAnswer{200, R"({"Id":"abc","Name":"/movies-api-1","Image":"sha256:1",
          "State":{"Status":"running","Running":true,"ExitCode":0,"StartedAt":"2026-12-02T08:00:01.123456789Z"},
          "RestartCount":2,
          "Config":{"Labels":{"k":"v"},"Env":["PATH=/usr/bin","MODEL=/m/a=b","EMPTY=","BARE"]},
          "NetworkSettings":{"Networks":{"movies":{"IPAddress":"10.89.0.5"}}}})"};
    });
    DockerEngine docker(server.socket_path());
    const ContainerDetails d = docker.inspect_container("abc");
    CHECK(d.name == "movies-api-1");
    CHECK(d.running);
    CHECK(d.restart_count == 2);
    CHECK(d.started_at == "2026-12-02T08:00:01.123456789Z");
    CHECK(d.env ==
          std::map<std::string, std::string>{{"PATH", "/usr/bin"}, {"MODEL", "/m/a=b"}, {"EMPTY", ""}, {"BARE", ""}});
    CHECK(d.ip_by_network.at("movies") == "10.89.0.5");
    const ContainerDetails never = PodmanEngine(server.socket_path()).inspect_container("never");
    CHECK(never.started_at.empty());
    CHECK(never.env.empty());
}

TEST_CASE("error kinds: the status decides unless a flavour knows better") {
    CHECK(error_kind_for_status(404) == ErrorKind::not_found);
    CHECK(error_kind_for_status(409) == ErrorKind::conflict);
    CHECK(error_kind_for_status(500) == ErrorKind::engine);
    CHECK(error_kind_for_status(400) == ErrorKind::engine);
    CHECK(error_kind_for_status(0) == ErrorKind::engine);
    CHECK(podman_error_kind(500, "the container name \"x\" is already in use by y") == ErrorKind::conflict);
    CHECK(podman_error_kind(500, "container x does not exist in database: no such container") == ErrorKind::not_found);
    CHECK(podman_error_kind(500, "something else") == ErrorKind::engine);
    CHECK(podman_error_kind(404, "no such network") == ErrorKind::not_found);
    CHECK(podman_error_kind(409, "container is not running") == ErrorKind::conflict);
    const EngineError explicit_kind("start x", ErrorKind::transport, 0, "interrupted");
    CHECK(explicit_kind.kind() == ErrorKind::transport);
    CHECK(std::string(explicit_kind.what()) == "start x: interrupted");
    CHECK(EngineError("s", 404, "m").kind() == ErrorKind::not_found);
}

TEST_CASE("signals by name or number") {
    CHECK(signal_number("SIGQUIT") == 3);
    CHECK(signal_number("QUIT") == 3);
    CHECK(signal_number("sigterm") == 15);
    CHECK(signal_number("9") == 9);
    CHECK(signal_number("SIGWINCH") == 28);
    CHECK_FALSE(signal_number("SIGNOPE").has_value());
    CHECK_FALSE(signal_number("").has_value());
    CHECK_FALSE(signal_number("0").has_value());
    CHECK_FALSE(signal_number("65").has_value());
    CHECK_FALSE(signal_number("3x").has_value());
}
