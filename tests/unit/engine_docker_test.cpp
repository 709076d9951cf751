// The Docker flavour's pure parts: the create body, label filters, references,
// the tar prefixing for a missing folder, and telling the flavours apart.
#include "engine/discovery.hpp"
#include "engine/docker.hpp"
#include "util/tar.hpp"
#include "util/untar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>

using namespace mldeploy::engine;
using nlohmann::json;

namespace {

const json expected_ulimits = json::parse(R"([
  {"Name": "nofile", "Soft": 20000, "Hard": 20000},
  {"Name": "nproc", "Soft": 20000, "Hard": 20000}
])");

ContainerSpec minimal() {
    ContainerSpec spec;
    spec.name = "movies-recommender-1";
    spec.image = "localhost/movies:latest";
    return spec;
}

// Every entry of a tar: path -> (type, mode).
std::map<std::string, std::pair<unsigned, unsigned>> entries_of(const std::string& tar) {
    std::map<std::string, std::pair<unsigned, unsigned>> out;
    struct Closer {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    std::unique_ptr<archive, Closer> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    REQUIRE(archive_read_open_memory(reader.get(), tar.data(), tar.size()) == ARCHIVE_OK);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        out[archive_entry_pathname(entry)] = {static_cast<unsigned>(archive_entry_filetype(entry)),
                                              static_cast<unsigned>(archive_entry_perm(entry))};
        archive_read_data_skip(reader.get());
    }
    return out;
}

}  // namespace

TEST_CASE("docker create body: the least a container needs") {
    const json body = docker_create_body(minimal());
    CHECK(body == json::parse(R"({
      "Image": "localhost/movies:latest",
      "Labels": {},
      "StopTimeout": 10,
      "HostConfig": {
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "Ulimits": [{"Name": "nofile", "Soft": 20000, "Hard": 20000},
                    {"Name": "nproc", "Soft": 20000, "Hard": 20000}]
      }
    })"));
    CHECK_FALSE(body.contains("name"));  // the name goes in the query
    CHECK_FALSE(body["HostConfig"].contains("DeviceRequests"));
    CHECK_FALSE(body["HostConfig"].contains("NetworkMode"));
    CHECK_FALSE(body.contains("NetworkingConfig"));
}

TEST_CASE("docker create body: everything") {
    ContainerSpec spec = minimal();
    spec.labels = {{"io.mldeploy.stack", "movies"}, {"io.mldeploy.service", "recommender"}};
    spec.env = {{"MODEL_PATH", "/models/m.onnx"}, {"WORKERS", "2"}};
    spec.command = {"python", "-m", "serve", "--port", "8000"};
    spec.network = "movies_net";
    spec.network_aliases = {"recommender", "recommender-1"};
    spec.ports = {{"127.0.0.1", 18080, 8000, "tcp"}, {"0.0.0.0", 0, 9000, ""}};
    spec.mounts = {{"/srv/models", "/models", {"ro"}, true}, {"movies-cache", "/cache", {}, false}};
    spec.restart_policy = "on-failure:3";
    spec.cpus = 1.5;
    spec.memory_bytes = std::int64_t{512} * 1024 * 1024;
    spec.gpus = "all";
    spec.stop_timeout_s = 30;

    const json body = docker_create_body(spec);
    CHECK(body["Image"] == "localhost/movies:latest");
    CHECK(body["Labels"] == json{{"io.mldeploy.service", "recommender"}, {"io.mldeploy.stack", "movies"}});
    CHECK(body["Env"] == json{"MODEL_PATH=/models/m.onnx", "WORKERS=2"});
    CHECK(body["Cmd"] == json{"python", "-m", "serve", "--port", "8000"});
    CHECK(body["StopTimeout"] == 30);
    CHECK(body["ExposedPorts"] == json::parse(R"({"8000/tcp": {}, "9000/tcp": {}})"));
    CHECK(body["NetworkingConfig"] ==
          json::parse(R"({"EndpointsConfig": {"movies_net": {"Aliases": ["recommender", "recommender-1"]}}})"));
    const json& host = body["HostConfig"];
    CHECK(host["NetworkMode"] == "movies_net");
    CHECK(host["PortBindings"] == json::parse(R"({
      "8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}],
      "9000/tcp": [{"HostIp": "", "HostPort": ""}]})"));
    CHECK(host["Binds"] == json{"/srv/models:/models:ro", "movies-cache:/cache"});
    CHECK(host["RestartPolicy"] == json::parse(R"({"Name": "on-failure", "MaximumRetryCount": 3})"));
    CHECK(host["NanoCpus"] == 1500000000);
    CHECK(host["Memory"] == 536870912);
    CHECK(host["Ulimits"] == expected_ulimits);
    CHECK(host["DeviceRequests"] ==
          json::parse(R"([{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}])"));
}

TEST_CASE("docker create body: ports") {
    ContainerSpec spec = minimal();
    SUBCASE("0.0.0.0 is every address: an empty HostIp") {
        spec.ports = {{"0.0.0.0", 5000, 80, "tcp"}};
        const json body = docker_create_body(spec);
        CHECK(body["HostConfig"]["PortBindings"] == json::parse(R"({"80/tcp": [{"HostIp": "", "HostPort": "5000"}]})"));
        CHECK(body["ExposedPorts"] == json::parse(R"({"80/tcp": {}})"));
    }
    SUBCASE("other addresses are kept, the protocol defaults to tcp") {
        spec.ports = {{"127.0.0.1", 5000, 80, ""}, {"::1", 5001, 53, "udp"}};
        const json body = docker_create_body(spec);
        CHECK(body["HostConfig"]["PortBindings"] == json::parse(R"({
          "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}],
          "53/udp": [{"HostIp": "::1", "HostPort": "5001"}]})"));
    }
    SUBCASE("one container port published twice") {
        spec.ports = {{"127.0.0.1", 5000, 80, "tcp"}, {"10.0.0.1", 5000, 80, "tcp"}};
        const json body = docker_create_body(spec);
        CHECK(body["HostConfig"]["PortBindings"]["80/tcp"].size() == 2);
        CHECK(body["ExposedPorts"].size() == 1);
    }
}

TEST_CASE("docker create body: restart policies") {
    ContainerSpec spec = minimal();
    const auto policy = [&](const std::string& text) {
        spec.restart_policy = text;
        return docker_create_body(spec)["HostConfig"]["RestartPolicy"];
    };
    CHECK(policy("no") == json::parse(R"({"Name": "no", "MaximumRetryCount": 0})"));
    CHECK(policy("") == json::parse(R"({"Name": "no", "MaximumRetryCount": 0})"));
    CHECK(policy("always") == json::parse(R"({"Name": "always", "MaximumRetryCount": 0})"));
    CHECK(policy("unless-stopped") == json::parse(R"({"Name": "unless-stopped", "MaximumRetryCount": 0})"));
    CHECK(policy("on-failure") == json::parse(R"({"Name": "on-failure", "MaximumRetryCount": 0})"));
    CHECK(policy("on-failure:5") == json::parse(R"({"Name": "on-failure", "MaximumRetryCount": 5})"));
    for (const char* bad : {"sometimes", "on-failure:", "on-failure:x", "on-failure:-1", "on-failure:3x"}) {
        CAPTURE(bad);
        spec.restart_policy = bad;
        CHECK_THROWS_AS(docker_create_body(spec), std::invalid_argument);
    }
}

TEST_CASE("docker create body: resources") {
    ContainerSpec spec = minimal();
    SUBCASE("cpus are NanoCpus") {
        spec.cpus = 0.25;
        CHECK(docker_create_body(spec)["HostConfig"]["NanoCpus"] == 250000000);
        spec.cpus = 2;
        CHECK(docker_create_body(spec)["HostConfig"]["NanoCpus"] == 2000000000);
        spec.cpus = 0.1;  // not 99999999 from binary floating point
        CHECK(docker_create_body(spec)["HostConfig"]["NanoCpus"] == 100000000);
        spec.cpus = 0;
        CHECK_THROWS_AS(docker_create_body(spec), std::invalid_argument);
    }
    SUBCASE("memory in bytes") {
        spec.memory_bytes = std::int64_t{1} << 30;
        CHECK(docker_create_body(spec)["HostConfig"]["Memory"] == std::int64_t{1073741824});
        spec.memory_bytes = 0;
        CHECK_THROWS_AS(docker_create_body(spec), std::invalid_argument);
    }
    SUBCASE("ulimits are always there") {
        spec.cpus = 1;
        spec.memory_bytes = 1 << 20;
        CHECK(docker_create_body(spec)["HostConfig"]["Ulimits"] == expected_ulimits);
        CHECK(docker_create_body(minimal())["HostConfig"]["Ulimits"] == expected_ulimits);
    }
}

TEST_CASE("docker create body: GPUs are DeviceRequests") {
    ContainerSpec spec = minimal();
    SUBCASE("all") {
        spec.gpus = "all";
        CHECK(docker_create_body(spec)["HostConfig"]["DeviceRequests"] ==
              json::parse(R"([{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}])"));
    }
    SUBCASE("a count") {
        spec.gpus = "2";
        CHECK(docker_create_body(spec)["HostConfig"]["DeviceRequests"] ==
              json::parse(R"([{"Driver": "nvidia", "Count": 2, "Capabilities": [["gpu"]]}])"));
    }
    SUBCASE("zero asks for none") {
        spec.gpus = "0";
        CHECK_FALSE(docker_create_body(spec)["HostConfig"].contains("DeviceRequests"));
    }
    SUBCASE("anything else is refused") {
        for (const char* bad : {"", "some", "-1", "2x", "1.5"}) {
            CAPTURE(bad);
            spec.gpus = bad;
            CHECK_THROWS_AS(docker_create_body(spec), std::invalid_argument);
        }
    }
}

TEST_CASE("docker create body: mounts as Binds") {
    ContainerSpec spec = minimal();
    spec.mounts = {{"/data", "/data", {"ro", "z"}, true}, {"cache", "/cache", {"rw"}, false}};
    CHECK(docker_create_body(spec)["HostConfig"]["Binds"] == json{"/data:/data:ro,z", "cache:/cache:rw"});
}

TEST_CASE("docker label filters: an empty value means the label exists") {
    CHECK(docker_label_filters({}) == "");
    CHECK(json::parse(docker_label_filters({{"io.mldeploy.stack", "movies"}, {"io.mldeploy.role", "model"}})) ==
          json::parse(R"({"label": ["io.mldeploy.role=model", "io.mldeploy.stack=movies"]})"));
    CHECK(json::parse(docker_label_filters({{"io.mldeploy.stack", ""}})) ==
          json::parse(R"({"label": ["io.mldeploy.stack"]})"));
}

TEST_CASE("docker references split into fromImage and tag") {
    using P = std::pair<std::string, std::string>;
    CHECK(docker_split_reference("docker.io/library/nginx:stable") == P{"docker.io/library/nginx", "stable"});
    CHECK(docker_split_reference("nginx") == P{"nginx", "latest"});
    CHECK(docker_split_reference("localhost:5000/movies/app") == P{"localhost:5000/movies/app", "latest"});
    CHECK(docker_split_reference("localhost:5000/movies/app:2") == P{"localhost:5000/movies/app", "2"});
    CHECK(docker_split_reference("nginx@sha256:0123abcd") == P{"nginx", "sha256:0123abcd"});
}

TEST_CASE("docker_prefix_tar puts every entry under a folder") {
    const std::string tar = mldeploy::util::tar_files({{"nginx.conf", "events {}\n", 0644},
                                                        {"sub/stack.json", "{}", 0600}});
    SUBCASE("one level") {
        const std::string prefixed = docker_prefix_tar(tar, "mldeploy");
        const auto entries = entries_of(prefixed);
        REQUIRE(entries.count("mldeploy/") == 1);
        CHECK(entries.at("mldeploy/").first == AE_IFDIR);
        CHECK(entries.at("mldeploy/").second == 0755);
        CHECK(entries.count("mldeploy/nginx.conf") == 1);
        CHECK(entries.at("mldeploy/sub/stack.json").second == 0600);
        CHECK(mldeploy::util::untar_file(prefixed, "mldeploy/nginx.conf") == std::optional<std::string>("events {}\n"));
        CHECK(mldeploy::util::untar_file(prefixed, "mldeploy/sub/stack.json") == std::optional<std::string>("{}"));
        for (const auto& [path, _] : entries) {
            CAPTURE(path);
            CHECK(path.rfind("mldeploy/", 0) == 0);
        }
    }
    SUBCASE("twice, as for two missing levels") {
        const std::string prefixed = docker_prefix_tar(docker_prefix_tar(tar, "mldeploy"), "etc");
        const auto entries = entries_of(prefixed);
        CHECK(entries.count("etc/") == 1);
        CHECK(entries.count("etc/mldeploy/") == 1);
        CHECK(mldeploy::util::untar_file(prefixed, "etc/mldeploy/nginx.conf") ==
              std::optional<std::string>("events {}\n"));
    }
    SUBCASE("a nested folder at once; slashes around it do not count") {
        const auto entries = entries_of(docker_prefix_tar(tar, "/etc/mldeploy/"));
        CHECK(entries.count("etc/") == 1);
        CHECK(entries.count("etc/mldeploy/") == 1);
        CHECK(entries.count("etc/mldeploy/nginx.conf") == 1);
    }
    SUBCASE("no folder: unchanged") { CHECK(docker_prefix_tar(tar, "") == tar); }
    SUBCASE("not a tar") { CHECK_THROWS_AS(docker_prefix_tar(std::string(1024, 'x'), "a"), std::runtime_error); }
}

TEST_CASE("the flavour from /_ping's headers") {
    // As seen: Podman 4.3.1 (libpod and compat alike) and Docker 20.10.24.
    CHECK(flavour_from_ping_headers({{"api-version", "1.41"},
                                     {"libpod-api-version", "4.3.1"},
                                     {"server", "Libpod/4.3.1 (linux)"}}) == std::optional<std::string>("podman"));
    CHECK(flavour_from_ping_headers({{"api-version", "1.41"}, {"server", "Docker/20.10.24+dfsg1 (linux)"}}) ==
          std::optional<std::string>("docker"));
    CHECK(flavour_from_ping_headers({{"server", "Docker/28.2.2 (linux)"}}) == std::optional<std::string>("docker"));
    CHECK(flavour_from_ping_headers({{"api-version", "1.41"}}) == std::optional<std::string>("docker"));
    CHECK_FALSE(flavour_from_ping_headers({{"server", "nginx/1.22.1"}}).has_value());
    CHECK_FALSE(flavour_from_ping_headers({}).has_value());
}

TEST_CASE("make_engine and a forced flavour") {
    CHECK(dynamic_cast<DockerEngine*>(make_engine("docker", "/nonexistent.sock").get()) != nullptr);
    CHECK(dynamic_cast<DockerEngine*>(make_engine("podman", "/nonexistent.sock").get()) == nullptr);
    CHECK_THROWS_AS(make_engine("containerd", "/nonexistent.sock"), std::invalid_argument);
    CHECK_THROWS_AS(connect("unix:///nonexistent.sock", std::string("cri-o")), std::invalid_argument);
}

TEST_CASE("no engine: every place tried and how to start each engine") {
    try {
        connect("unix:///nonexistent/engine.sock", std::nullopt);
        FAIL("connect should have thrown");
    } catch (const EngineError& e) {
        const std::string message = e.what();
        CHECK(message.find("/nonexistent/engine.sock (-H): no such socket") != std::string::npos);
        CHECK(message.find("podman system service") != std::string::npos);
        CHECK(message.find("dockerd") != std::string::npos);
    }
    try {
        connect("unix:///nonexistent/engine.sock", std::string("docker"));
        FAIL("connect should have thrown");
    } catch (const EngineError& e) {
        const std::string message = e.what();
        CHECK(message.find("no Docker engine answered") != std::string::npos);
        CHECK(message.find("dockerd") != std::string::npos);
        CHECK(message.find("podman system service") == std::string::npos);
    }
}

TEST_CASE("docker timestamps compare as text once padded") {
    CHECK(docker_time_key("2026-11-22T17:55:01.1Z") == "2026-11-22T17:55:01.100000000Z");
    CHECK(docker_time_key("2026-11-22T17:55:01.123456789Z") == "2026-11-22T17:55:01.123456789Z");
    CHECK(docker_time_key("2026-11-22T17:55:01Z") == "2026-11-22T17:55:01.000000000Z");
    CHECK(docker_time_key("2026-11-22T17:55:01.5+00:00") == "2026-11-22T17:55:01.500000000+00:00");
    // As text, "01.1Z" sorts after "01.12Z"; padded, it sorts before.
    CHECK(docker_time_key("2026-11-22T17:55:01.1Z") < docker_time_key("2026-11-22T17:55:01.12Z"));
    CHECK(docker_time_key("2026-11-22T17:55:01.9Z") < docker_time_key("2026-11-22T17:55:02Z"));
}

TEST_CASE("docker published ports: every address is \"\" as on Podman, once") {
    // As Docker 20.10 lists a container published with -p 18932:80 and one with 127.0.0.1:5000:80.
    const auto ports = docker_published_ports(json::parse(R"([
      {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 18932, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 80, "PublicPort": 18932, "Type": "tcp"},
      {"PrivatePort": 5000, "Type": "tcp"},
      {"IP": "127.0.0.1", "PrivatePort": 81, "PublicPort": 5000, "Type": "tcp"},
      {"IP": "::", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}])"));
    REQUIRE(ports.size() == 3);
    CHECK(ports[0].host_ip == "");
    CHECK(ports[0].host_port == 18932);
    CHECK(ports[0].container_port == 80);
    CHECK(ports[0].protocol == "tcp");
    CHECK(ports[1].host_ip == "127.0.0.1");
    CHECK(ports[1].host_port == 5000);
    CHECK(ports[2].host_ip == "::");  // only on IPv6: kept
    CHECK(ports[2].protocol == "udp");
    CHECK(docker_published_ports(json()).empty());
}

TEST_CASE("docker create body: devices (no CDI on Docker 20.10)") {
    ContainerSpec spec = minimal();
    SUBCASE("NVIDIA GPUs by index are one request by DeviceIDs") {
        spec.devices = {"nvidia.com/gpu=0", "nvidia.com/gpu=2"};
        CHECK(docker_create_body(spec)["HostConfig"]["DeviceRequests"] == json::parse(R"([
          {"Driver": "nvidia", "DeviceIDs": ["0", "2"], "Capabilities": [["gpu"]]}])"));
        CHECK_FALSE(docker_create_body(spec)["HostConfig"].contains("Devices"));
    }
    SUBCASE("all GPUs") {
        spec.devices = {"nvidia.com/gpu=all"};
        CHECK(docker_create_body(spec)["HostConfig"]["DeviceRequests"] ==
              json::parse(R"([{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}])"));
    }
    SUBCASE("beside gpus") {
        spec.gpus = "1";
        spec.devices = {"nvidia.com/gpu=1"};
        CHECK(docker_create_body(spec)["HostConfig"]["DeviceRequests"] == json::parse(R"([
          {"Driver": "nvidia", "Count": 1, "Capabilities": [["gpu"]]},
          {"Driver": "nvidia", "DeviceIDs": ["1"], "Capabilities": [["gpu"]]}])"));
    }
    SUBCASE("host paths") {
        spec.devices = {"/dev/fuse"};
        const json host = docker_create_body(spec)["HostConfig"];
        CHECK(host["Devices"] ==
              json::parse(R"([{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}])"));
        CHECK_FALSE(host.contains("DeviceRequests"));
    }
    SUBCASE("other CDI names are refused") {
        for (const char* bad : {"vendor.example/gpu=2", "nvidia.com/gpu=", "nvidia.com/gpu=x", "gpu0"}) {
            CAPTURE(bad);
            spec.devices = {bad};
            CHECK_THROWS_AS(docker_create_body(spec), std::invalid_argument);
        }
    }
}

TEST_CASE("docker create body: StopSignal as given") {
    ContainerSpec spec = minimal();
    CHECK_FALSE(docker_create_body(spec).contains("StopSignal"));
    spec.stop_signal = "SIGQUIT";
    CHECK(docker_create_body(spec)["StopSignal"] == "SIGQUIT");
    spec.stop_signal = "3";
    CHECK(docker_create_body(spec)["StopSignal"] == "3");
    spec.stop_signal = "SIGNOPE";
    CHECK_THROWS_WITH_AS(docker_create_body(spec), "container movies-recommender-1: stop signal 'SIGNOPE' is not a signal's name or number",
                         std::invalid_argument);
}
