#include "engine/podman.hpp"

#include <doctest/doctest.h>

using namespace mldeploy::engine;
using nlohmann::json;

namespace {

const json expected_rlimits = json::parse(R"([
  {"type": "nofile", "hard": 20000, "soft": 20000},
  {"type": "nproc", "hard": 20000, "soft": 20000}
])");

}  // namespace

TEST_CASE("create body: the least a container needs") {
    ContainerSpec spec;
    spec.name = "movies-recommender-1";
    spec.image = "localhost/movies:latest";
    const json body = podman_create_body(spec);
    CHECK(body == json::parse(R"({
      "name": "movies-recommender-1",
      "image": "localhost/movies:latest",
      "netns": {"nsmode": "bridge"},
      "stop_timeout": 10,
      "r_limits": [{"type": "nofile", "hard": 20000, "soft": 20000},
                   {"type": "nproc", "hard": 20000, "soft": 20000}]
    })"));
    CHECK_FALSE(body.contains("restart_policy"));  // "no" is Podman's default
    CHECK_FALSE(body.contains("devices"));
    CHECK_FALSE(body.contains("resource_limits"));
}

TEST_CASE("create body: everything") {
    ContainerSpec spec;
    spec.name = "movies-recommender-1";
    spec.image = "localhost/movies:latest";
    spec.labels = {{"io.mldeploy.stack", "movies"}, {"io.mldeploy.service", "recommender"}};
    spec.env = {{"MODEL_PATH", "/models/m.onnx"}, {"WORKERS", "2"}};
    spec.command = {"python", "-m", "serve", "--port", "8000"};
    spec.network = "mldeploy-movies";
    spec.network_aliases = {"recommender", "recommender-1"};
    spec.ports = {{"127.0.0.1", 18080, 8000, "tcp"}, {"", 0, 9000, ""}};
    spec.mounts = {{"/srv/models", "/models", {"ro"}, true}, {"movies-cache", "/cache", {}, false}};
    spec.restart_policy = "on-failure:3";
    spec.cpus = 1.5;
    spec.memory_bytes = std::int64_t{512} * 1024 * 1024;
    spec.gpus = "all";
    spec.stop_timeout_s = 30;

    const json body = podman_create_body(spec);
    CHECK(body["labels"] == json{{"io.mldeploy.service", "recommender"}, {"io.mldeploy.stack", "movies"}});
    CHECK(body["env"] == json{{"MODEL_PATH", "/models/m.onnx"}, {"WORKERS", "2"}});
    CHECK(body["command"] == json{"python", "-m", "serve", "--port", "8000"});
    CHECK(body["netns"] == json{{"nsmode", "bridge"}});
    CHECK(body["Networks"] == json::parse(R"({"mldeploy-movies": {"aliases": ["recommender", "recommender-1"]}})"));
    CHECK(body["portmappings"] == json::parse(R"([
      {"host_ip": "127.0.0.1", "host_port": 18080, "container_port": 8000, "protocol": "tcp"},
      {"host_ip": "", "host_port": 0, "container_port": 9000, "protocol": "tcp"}])"));
    CHECK(body["mounts"] ==
          json::parse(R"([{"type": "bind", "source": "/srv/models", "destination": "/models", "options": ["ro"]}])"));
    CHECK(body["volumes"] == json::parse(R"([{"Name": "movies-cache", "Dest": "/cache", "Options": []}])"));
    CHECK(body["restart_policy"] == "on-failure");
    CHECK(body["restart_tries"] == 3);
    CHECK(body["resource_limits"] ==
          json::parse(R"({"cpu": {"quota": 150000, "period": 100000}, "memory": {"limit": 536870912}})"));
    CHECK(body["stop_timeout"] == 30);
    CHECK(body["r_limits"] == expected_rlimits);
    CHECK(body["devices"] == json::parse(R"([{"path": "nvidia.com/gpu=all"}])"));
}

TEST_CASE("create body: GPUs by count are CDI devices 0..n-1") {
    ContainerSpec spec;
    spec.name = "g";
    spec.image = "i";
    spec.gpus = "2";
    CHECK(podman_create_body(spec)["devices"] ==
          json::parse(R"([{"path": "nvidia.com/gpu=0"}, {"path": "nvidia.com/gpu=1"}])"));
    spec.gpus = "0";
    CHECK_FALSE(podman_create_body(spec).contains("devices"));
    spec.gpus = "two";
    CHECK_THROWS_WITH_AS(podman_create_body(spec), "container g: gpus must be \"all\" or a count, not \"two\"",
                         std::invalid_argument);
    spec.gpus = "-1";
    CHECK_THROWS_AS(podman_create_body(spec), std::invalid_argument);
}

TEST_CASE("create body: limits, restart policies, networks without aliases") {
    ContainerSpec spec;
    spec.name = "c";
    spec.image = "i";
    spec.cpus = 0.25;
    CHECK(podman_create_body(spec)["resource_limits"] == json::parse(R"({"cpu": {"quota": 25000, "period": 100000}})"));
    spec.cpus.reset();
    spec.memory_bytes = 100 * 1024 * 1024;
    CHECK(podman_create_body(spec)["resource_limits"] == json::parse(R"({"memory": {"limit": 104857600}})"));
    spec.cpus = 0;
    CHECK_THROWS_WITH_AS(podman_create_body(spec), "container c: cpus must be above 0, not 0", std::invalid_argument);
    spec.cpus.reset();

    for (const char* policy : {"always", "unless-stopped", "on-failure"}) {
        spec.restart_policy = policy;
        const json body = podman_create_body(spec);
        CHECK(body["restart_policy"] == policy);
        CHECK_FALSE(body.contains("restart_tries"));
    }
    spec.restart_policy = "sometimes";
    CHECK_THROWS_WITH_AS(
        podman_create_body(spec),
        "container c: restart policy 'sometimes' is not one of no, on-failure[:N], always, unless-stopped",
        std::invalid_argument);
    spec.restart_policy = "on-failure:x";
    CHECK_THROWS_AS(podman_create_body(spec), std::invalid_argument);
    spec.restart_policy = "no";

    spec.network = "net";
    CHECK(podman_create_body(spec)["Networks"] == json::parse(R"({"net": {}})"));
    // The limits this machine needs are there whatever else is asked.
    CHECK(podman_create_body(spec)["r_limits"] == expected_rlimits);
}

TEST_CASE("ps status text, made from the state and times libpod gives") {
    const std::int64_t now = 1'800'000'000;
    CHECK(container_status_text("running", 0, now - 300, -62135596800, now) == "Up 5 minutes");
    CHECK(container_status_text("running", 0, now, 0, now) == "Up Less than a second");
    CHECK(container_status_text("paused", 0, now - 7200, 0, now) == "Up 2 hours (Paused)");
    CHECK(container_status_text("exited", 137, now - 100, now - 3, now) == "Exited (137) 3 seconds ago");
    CHECK(container_status_text("exited", 1, 0, 0, now) == "Exited (1)");
    CHECK(container_status_text("created", 0, 0, 0, now) == "Created");
    CHECK(container_status_text("configured", 0, 0, 0, now) == "Created");
    CHECK(container_status_text("removing", 0, 0, 0, now) == "Removing");
    CHECK(human_duration(1) == "1 second");
    CHECK(human_duration(90) == "About a minute");
    CHECK(human_duration(3600) == "About an hour");
    CHECK(human_duration(3 * 86400) == "3 days");
    CHECK(human_duration(21 * 86400) == "3 weeks");
}

TEST_CASE("create body: devices are CDI devices (or host paths), after the GPUs") {
    ContainerSpec spec;
    spec.name = "g";
    spec.image = "i";
    spec.devices = {"nvidia.com/gpu=0", "vendor.example/gpu=2", "/dev/fuse"};
    CHECK(podman_create_body(spec)["devices"] == json::parse(R"([
      {"path": "nvidia.com/gpu=0"}, {"path": "vendor.example/gpu=2"}, {"path": "/dev/fuse"}])"));
    spec.gpus = "1";
    spec.devices = {"nvidia.com/gpu=3"};
    CHECK(podman_create_body(spec)["devices"] ==
          json::parse(R"([{"path": "nvidia.com/gpu=0"}, {"path": "nvidia.com/gpu=3"}])"));
    spec.gpus.reset();
    spec.devices.clear();
    CHECK_FALSE(podman_create_body(spec).contains("devices"));
}

TEST_CASE("create body: the stop signal is a number, as libpod's syscall.Signal") {
    ContainerSpec spec;
    spec.name = "s";
    spec.image = "i";
    CHECK_FALSE(podman_create_body(spec).contains("stop_signal"));
    spec.stop_signal = "SIGQUIT";
    CHECK(podman_create_body(spec)["stop_signal"] == 3);
    spec.stop_signal = "int";
    CHECK(podman_create_body(spec)["stop_signal"] == 2);
    spec.stop_signal = "10";
    CHECK(podman_create_body(spec)["stop_signal"] == 10);
    spec.stop_signal = "SIGNOPE";
    CHECK_THROWS_WITH_AS(podman_create_body(spec), "container s: stop signal 'SIGNOPE' is not a signal's name or number",
                         std::invalid_argument);
}
