// One GPU per replica: the host's GPUs read from CDI specs and device nodes,
// spread over replicas by number, refused at plan time when too few (unless
// shared), and the create bodies both engines get for a replica's own devices.
#include "engine/gpus.hpp"
#include "deploy_world.hpp"
#include "engine/docker.hpp"
#include "engine/podman.hpp"
#include "plan/gpus.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace mldeploy;
using namespace mldeploy::test;
using nlohmann::json;

namespace {

const std::vector<std::string> kFour{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=2", "nvidia.com/gpu=3"};

engine::GpuInventory four() { return {kFour, "the nvidia.com/gpu devices of the CDI specs in /etc/cdi"}; }

stack::Stack gpu_stack(int replicas, const std::string& gpus, bool share = false) {
    auto s = demo_stack(replicas);
    s.file = "/srv/stack.toml";
    s.services[0].resources.gpus = gpus;
    s.services[0].resources.share_gpus = share;
    s.services[0].resources.gpus_pos = {"/srv/stack.toml", 9, 8};
    return s;
}

// What nvidia-ctk cdi generate writes, shortened.
constexpr const char* kNvidiaYaml = R"(---
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
- name: "1"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
- name: all
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
    - path: /dev/nvidia1
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
)";

}  // namespace

TEST_SUITE("gpus") {
    TEST_CASE("gpus: CDI specs, YAML and JSON; only kind nvidia.com/gpu, never the all device") {
        CHECK(engine::cdi_gpu_names(kNvidiaYaml, false) == std::vector<std::string>{"0", "1"});
        CHECK(engine::cdi_gpu_names(
                  R"({"cdiVersion":"0.5.0","kind":"nvidia.com/gpu","devices":[{"name":"GPU-1a2b"},{"name":"all"}]})",
                  true) == std::vector<std::string>{"GPU-1a2b"});
        CHECK(engine::cdi_gpu_names("kind: vendor.example/fpga\ndevices:\n- name: \"0\"\n", false).empty());
        CHECK(engine::cdi_gpu_names("kind: nvidia.com/gpu\n", false).empty());
        CHECK_THROWS_AS(engine::cdi_gpu_names("{not json", true), std::runtime_error);
        CHECK_THROWS_AS(engine::cdi_gpu_names("kind: [unclosed", false), std::runtime_error);
    }

    TEST_CASE("gpus: the host's CDI devices, each once, in natural order; broken specs skipped") {
        TempDir etc, run;
        etc.write("nvidia.yaml", kNvidiaYaml);
        etc.write("more.json", R"({"kind":"nvidia.com/gpu","devices":[{"name":"10"},{"name":"2"},{"name":"1"}]})");
        etc.write("broken.yaml", "kind: [");
        etc.write("notes.txt", "kind: nvidia.com/gpu\ndevices:\n- name: \"7\"\n");
        run.write("other.yml", "kind: nvidia.com/gpu\ndevices:\n- name: \"3\"\n");
        const auto inventory = engine::cdi_gpus({etc.path(), run.path(), "/nonexistent/cdi"});
        CHECK(inventory.devices == std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=2",
                                                            "nvidia.com/gpu=3", "nvidia.com/gpu=10"});
        CHECK(inventory.source.find(etc.path().string()) != std::string::npos);
        CHECK(engine::cdi_gpus({"/nonexistent/cdi"}).devices.empty());
    }

    TEST_CASE("gpus: Docker's are the NVIDIA device nodes by index, not nvidiactl or nvidia-uvm") {
        TempDir dev;
        for (const char* node : {"nvidia1", "nvidia0", "nvidia10", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "null"})
            dev.write(node, "");
        CHECK(engine::nvidia_device_gpus(dev.path()).devices ==
              std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=10"});
    }

    TEST_CASE("gpus: replica r gets its own devices, round robin by its number") {
        CHECK(plan::gpus_of_replica(kFour, 1, 1) == std::vector<std::string>{"nvidia.com/gpu=0"});
        CHECK(plan::gpus_of_replica(kFour, 1, 4) == std::vector<std::string>{"nvidia.com/gpu=3"});
        CHECK(plan::gpus_of_replica(kFour, 2, 1) == std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=1"});
        CHECK(plan::gpus_of_replica(kFour, 2, 2) == std::vector<std::string>{"nvidia.com/gpu=2", "nvidia.com/gpu=3"});
        // Shared: round robin goes on past the last device.
        CHECK(plan::gpus_of_replica(kFour, 1, 5) == std::vector<std::string>{"nvidia.com/gpu=0"});
        CHECK(plan::gpus_of_replica(kFour, 2, 3) == std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=1"});
        CHECK(plan::gpus_of_replica(kFour, 3, 2) ==
              std::vector<std::string>{"nvidia.com/gpu=3", "nvidia.com/gpu=0", "nvidia.com/gpu=1"});
        CHECK(plan::gpus_of_replica({}, 1, 1).empty());
        CHECK(plan::gpus_label({"nvidia.com/gpu=2", "nvidia.com/gpu=3"}) == "2,3");
    }

    TEST_CASE("gpus: four replicas on four GPUs, each its own; the hash is the same for all") {
        const auto s = gpu_stack(4, "1");
        const auto host = four();
        std::set<std::string> seen;
        for (int r = 1; r <= 4; ++r) {
            const auto spec = plan::replica_spec(s, s.services[0], r, "sha256:x", &host);
            CHECK(spec.devices == std::vector<std::string>{kFour[static_cast<std::size_t>(r - 1)]});
            CHECK_FALSE(spec.gpus);
            CHECK(spec.labels.at(plan::label::gpus) == std::to_string(r - 1));
            CHECK(spec.labels.at(plan::label::config_hash) ==
                  plan::replica_spec(s, s.services[0], 1, "sha256:x").labels.at(plan::label::config_hash));
            seen.insert(spec.devices[0]);
        }
        CHECK(seen.size() == 4);
        // "all" stays "all": every device, by the engine's own name.
        const auto all = gpu_stack(2, "all");
        const auto spec = plan::replica_spec(all, all.services[0], 2, "sha256:x", &host);
        CHECK(spec.gpus == "all");
        CHECK(spec.devices.empty());
        CHECK(spec.labels.at(plan::label::gpus) == "all");
    }

    TEST_CASE("gpus: more than the host has is refused at the gpus key, with the count; share_gpus allows it") {
        const auto host = four();
        CHECK(plan::gpu_shortages(gpu_stack(4, "1"), host).empty());
        CHECK(plan::gpu_shortages(gpu_stack(2, "2"), host).empty());
        CHECK(plan::gpu_shortages(gpu_stack(0, "8"), host).empty());
        CHECK(plan::gpu_shortages(gpu_stack(2, "all"), host).empty());
        CHECK_THROWS_WITH_AS(plan::check_gpus(gpu_stack(5, "1"), host),
                             "/srv/stack.toml:9:8: service llm: 5 replicas x gpus = 1 need 5 GPUs; this host has 4 "
                             "(the nvidia.com/gpu devices of the CDI specs in /etc/cdi); set share_gpus = true to "
                             "let replicas share them",
                             stack::StackError);
        CHECK(plan::gpu_shortages(gpu_stack(5, "1", true), host).empty());
        // scale's count counts, not the file's.
        CHECK(plan::gpu_shortages(gpu_stack(2, "1"), host, {{"llm", 5}}).size() == 1);
        CHECK(plan::gpu_shortages(gpu_stack(9, "1"), host, {{"llm", 4}}).empty());
        // An autoscaled service may grow to max: that count is judged, unless a count is given.
        auto autoscaled = gpu_stack(1, "1");
        autoscaled.services[0].autoscale = stack::Autoscale{};
        autoscaled.services[0].autoscale->min = 1;
        autoscaled.services[0].autoscale->max = 6;
        const auto at_max = plan::gpu_shortages(autoscaled, host);
        REQUIRE(at_max.size() == 1);
        CHECK(at_max[0].message ==
              "service llm: autoscale max = 6 replicas x gpus = 1 need 6 GPUs; this host has 4 (the nvidia.com/gpu "
              "devices of the CDI specs in /etc/cdi); set share_gpus = true to let replicas share them");
        autoscaled.services[0].autoscale->max = 4;
        CHECK(plan::gpu_shortages(autoscaled, host).empty());
        CHECK(plan::gpu_shortages(autoscaled, host, {{"llm", 5}}).size() == 1);
        // One replica cannot have more than there are, shared or not.
        const auto too_many = plan::gpu_shortages(gpu_stack(1, "5", true), host);
        REQUIRE(too_many.size() == 1);
        CHECK(too_many[0].message ==
              "service llm: 1 replica x gpus = 5 need 5 GPUs; this host has 4 (the nvidia.com/gpu devices of the "
              "CDI specs in /etc/cdi)");
        const auto none = plan::gpu_shortages(gpu_stack(1, "1", true), {{}, "the NVIDIA devices /dev/nvidia0, ..."});
        REQUIRE(none.size() == 1);
        CHECK(none[0].to_string() ==
              "/srv/stack.toml:9:8: service llm: 1 replica x gpus = 1 need 1 GPU; this host has none (the NVIDIA "
              "devices /dev/nvidia0, ...)");
    }

    TEST_CASE("gpus: up gives each replica its own device; a plan past the count changes nothing") {
        World w;
        w.engine.set_gpus(four());
        w.up(gpu_stack(4, "1"));
        std::set<std::string> devices;
        for (const auto& [name, c] : w.replicas()) {
            REQUIRE(c.devices.size() == 1);
            CHECK_FALSE(c.gpus);
            CHECK(c.labels.at(plan::label::gpus) == plan::gpus_label(c.devices));
            devices.insert(c.devices[0]);
        }
        CHECK(devices == std::set<std::string>(kFour.begin(), kFour.end()));
        CHECK(w.engine.container("demo-llm-3")->devices == std::vector<std::string>{"nvidia.com/gpu=2"});

        const auto before = w.engine.mutating_calls().size();
        deploy::SessionOptions to_five;
        to_five.counts_only = true;
        to_five.replica_counts = {{"llm", 5}};
        const auto four_replicas = gpu_stack(4, "1");  // the session keeps a reference
        auto scale = w.session(four_replicas, to_five);
        CHECK_THROWS_AS(scale.plan(), stack::StackError);
        CHECK(w.engine.mutating_calls().size() == before);
        // Scaling down and up again: replica 2 gets device 1 again.
        w.up(gpu_stack(1, "1"));
        w.up(gpu_stack(2, "1"));
        CHECK(w.engine.container("demo-llm-2")->devices == std::vector<std::string>{"nvidia.com/gpu=1"});
    }

    TEST_CASE("gpus: create bodies of a replica's own devices") {
        engine::ContainerSpec spec;
        spec.name = "demo-llm-2";
        spec.image = "acme/llm:1";
        spec.devices = {"nvidia.com/gpu=2", "nvidia.com/gpu=3"};
        // Podman: CDI devices by name.
        CHECK(engine::podman_create_body(spec)["devices"] ==
              json::parse(R"([{"path": "nvidia.com/gpu=2"}, {"path": "nvidia.com/gpu=3"}])"));
        // Docker: one NVIDIA device request with those ids.
        CHECK(engine::docker_create_body(spec)["HostConfig"]["DeviceRequests"] ==
              json::parse(R"([{"Driver": "nvidia", "DeviceIDs": ["2", "3"], "Capabilities": [["gpu"]]}])"));
    }
}
