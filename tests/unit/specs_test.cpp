// Container specs for replicas and the balancer: names, labels, the config hash
// (what rolls a container and what does not), ports and the balancer's command.
#include "plan/specs.hpp"
#include "plan/labels.hpp"
#include "render/nginx.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <functional>
#include <string>
#include <vector>

using namespace mldeploy;
using namespace std::chrono_literals;
namespace label = plan::label;

namespace {

stack::Stack demo_stack() {
    stack::Stack s;
    s.name = "demo";
    s.network = "demo_net";
    stack::Service llm;
    llm.name = "llm";
    llm.image = "ghcr.io/acme/llm:1";
    llm.port = 8000;
    llm.replicas = 2;
    llm.command = {"python", "-m", "serve"};
    llm.env = {{"MODEL", "tiny"}, {"LOG_LEVEL", "info"}};
    llm.volumes = {{"/srv/models", "/models", "ro", true}, {"hf-cache", "/cache", "", false}};
    llm.restart = "on-failure";
    llm.health = stack::Health{};
    llm.health->path = "/ready";
    llm.resources.cpus = 2.0;
    llm.resources.memory_bytes = 4LL << 30;
    llm.resources.gpus = "1";
    stack::Service embed;
    embed.name = "embed";
    embed.image = "ghcr.io/acme/embed:1";
    embed.port = 9000;
    s.services = {llm, embed};
    s.balancer.port = 8080;
    s.balancer.host_ip = "127.0.0.1";
    s.balancer.routes = {{"/v1/embeddings", "embed"}, {"/", "llm"}};
    return s;
}

const std::string kImageId = "sha256:1111";

std::string replica_hash(const stack::Stack& s, int replica = 1, const std::string& image_id = kImageId) {
    return plan::replica_spec(s, s.services[0], replica, image_id).labels.at(label::config_hash);
}

std::string balancer_hash(const stack::Stack& s, const std::string& image_id = kImageId) {
    return plan::balancer_spec(s, image_id).labels.at(label::config_hash);
}

bool is_hex(const std::string& text) {
    if (text.empty()) return false;
    for (unsigned char c : text)
        if (!std::isxdigit(c)) return false;
    return true;
}

}  // namespace

TEST_SUITE("specs") {
    TEST_CASE("names: <stack>-<service>-<n> and <stack>-balancer") {
        const auto s = demo_stack();
        CHECK(plan::replica_name(s, "llm", 1) == "demo-llm-1");
        CHECK(plan::replica_name(s, "embed", 12) == "demo-embed-12");
        CHECK(plan::balancer_name(s) == "demo-balancer");
        CHECK(plan::replica_spec(s, s.services[0], 3, kImageId).name == "demo-llm-3");
        CHECK(plan::replica_spec(s, s.services[1], 1, kImageId).name == "demo-embed-1");
        CHECK(plan::balancer_spec(s, kImageId).name == "demo-balancer");
    }

    TEST_CASE("a replica carries every contract label and the config hash") {
        const auto s = demo_stack();
        const auto spec = plan::replica_spec(s, s.services[0], 2, kImageId);
        const auto& l = spec.labels;
        REQUIRE(l.count(label::stack) == 1);
        REQUIRE(l.count(label::role) == 1);
        REQUIRE(l.count(label::service) == 1);
        REQUIRE(l.count(label::replica) == 1);
        REQUIRE(l.count(label::config_hash) == 1);
        CHECK(l.at(label::stack) == "demo");
        CHECK(l.at(label::role) == "model");
        CHECK(l.at(label::service) == "llm");
        CHECK(l.at(label::replica) == "2");
        CHECK(is_hex(l.at(label::config_hash)));
        CHECK(l.at(label::config_hash).size() == 16);
        CHECK(l.at(label::config_hash) == plan::config_hash_of(spec, kImageId, s.services[0].port));
        // Bookkeeping for commands given only -s.
        CHECK(l.at(label::port) == "8000");
        CHECK(l.at(label::health_path) == "/ready");
        // The literal label keys are the contract with what is already deployed.
        CHECK(l.count("io.mldeploy.stack") == 1);
        CHECK(l.count("io.mldeploy.role") == 1);
        CHECK(l.count("io.mldeploy.service") == 1);
        CHECK(l.count("io.mldeploy.replica") == 1);
        CHECK(l.count("io.mldeploy.config-hash") == 1);

        // No health check: no health-path label.
        const auto embed = plan::replica_spec(s, s.services[1], 1, kImageId);
        CHECK(embed.labels.count(label::health_path) == 0);
        CHECK(embed.labels.at(label::service) == "embed");
    }

    TEST_CASE("a replica's container mirrors its service") {
        const auto s = demo_stack();
        const auto spec = plan::replica_spec(s, s.services[0], 1, kImageId);
        CHECK(spec.image == "ghcr.io/acme/llm:1");
        CHECK(spec.env == s.services[0].env);
        CHECK(spec.command == std::vector<std::string>{"python", "-m", "serve"});
        CHECK(spec.network == "demo_net");
        CHECK(spec.network_aliases == std::vector<std::string>{"llm"});
        CHECK(spec.restart_policy == "on-failure");
        CHECK(spec.cpus == 2.0);
        CHECK(spec.memory_bytes == (4LL << 30));
        CHECK(spec.gpus == "1");
        REQUIRE(spec.mounts.size() == 2);
        CHECK(spec.mounts[0].source == "/srv/models");
        CHECK(spec.mounts[0].target == "/models");
        CHECK(spec.mounts[0].options == std::vector<std::string>{"ro"});
        CHECK(spec.mounts[0].is_bind);
        CHECK(spec.mounts[1].source == "hf-cache");
        CHECK(spec.mounts[1].options.empty());
        CHECK_FALSE(spec.mounts[1].is_bind);
    }

    TEST_CASE("the balancer carries the stack and role labels and the config hash") {
        const auto s = demo_stack();
        const auto spec = plan::balancer_spec(s, kImageId);
        const auto& l = spec.labels;
        CHECK(l.at(label::stack) == "demo");
        CHECK(l.at(label::role) == "balancer");
        CHECK(is_hex(l.at(label::config_hash)));
        CHECK(l.at(label::config_hash) == plan::config_hash_of(spec, kImageId));
        CHECK(l.count(label::service) == 0);
        CHECK(l.count(label::replica) == 0);
        CHECK(spec.image == s.balancer.image);
        CHECK(spec.network == "demo_net");
    }

    TEST_CASE("the balancer runs nginx on mldeploy's own config") {
        const auto spec = plan::balancer_spec(demo_stack(), kImageId);
        REQUIRE(spec.command.size() >= 3);
        CHECK(spec.command[0] == "nginx");
        CHECK(spec.command[1] == "-c");
        CHECK(spec.command[2] == "/etc/mldeploy/nginx.conf");
        CHECK(spec.command[2] == render::kBalancerConfigPath);
        // In the foreground, or the container exits at once.
        CHECK(spec.command == std::vector<std::string>{"nginx", "-c", "/etc/mldeploy/nginx.conf", "-g", "daemon off;"});
    }

    TEST_CASE("the balancer stops with SIGQUIT, nginx's graceful quit, and its hash says so") {
        const auto spec = plan::balancer_spec(demo_stack(), kImageId);
        REQUIRE(spec.stop_signal);
        CHECK(*spec.stop_signal == "SIGQUIT");
        auto without = spec;
        without.stop_signal.reset();
        // A balancer made before it had a stop signal is replaced by the next up.
        CHECK(plan::config_hash_of(without, kImageId) != plan::config_hash_of(spec, kImageId));
    }

    TEST_CASE("only the balancer publishes a port") {
        const auto s = demo_stack();
        for (const auto& service : s.services)
            for (int n = 1; n <= 3; ++n) CHECK(plan::replica_spec(s, service, n, kImageId).ports.empty());

        const auto b = plan::balancer_spec(s, kImageId);
        REQUIRE(b.ports.size() == 1);
        CHECK(b.ports[0].host_ip == "127.0.0.1");
        CHECK(b.ports[0].host_port == 8080);
        CHECK(b.ports[0].container_port == render::kBalancerListenPort);
        CHECK(b.ports[0].container_port == 80);
        CHECK(b.ports[0].protocol == "tcp");
    }

    TEST_CASE("the replica hash does not change with the replica number or the name") {
        const auto s = demo_stack();
        const auto h1 = replica_hash(s, 1);
        CHECK(replica_hash(s, 2) == h1);
        CHECK(replica_hash(s, 17) == h1);
        CHECK(h1 == replica_hash(demo_stack(), 1));  // deterministic

        auto spec = plan::replica_spec(s, s.services[0], 1, kImageId);
        const auto before = plan::config_hash_of(spec, kImageId);
        spec.name = "demo-llm-1-next";
        CHECK(plan::config_hash_of(spec, kImageId) == before);
        spec.labels[label::replica] = "9";
        spec.labels["something.else"] = "x";
        CHECK(plan::config_hash_of(spec, kImageId) == before);
    }

    TEST_CASE("the replica hash changes with everything that needs a new container") {
        const auto base = demo_stack();
        const auto h = replica_hash(base);

        using Change = std::function<void(stack::Service&)>;
        const std::vector<std::pair<const char*, Change>> changes{
            {"image", [](auto& sv) { sv.image = "ghcr.io/acme/llm:2"; }},
            {"env value", [](auto& sv) { sv.env["MODEL"] = "large"; }},
            {"env added", [](auto& sv) { sv.env["NEW"] = "1"; }},
            {"env removed", [](auto& sv) { sv.env.erase("LOG_LEVEL"); }},
            {"command arg", [](auto& sv) { sv.command.push_back("--fast"); }},
            {"command cleared", [](auto& sv) { sv.command.clear(); }},
            {"cpus", [](auto& sv) { sv.resources.cpus = 3.0; }},
            {"cpus unset", [](auto& sv) { sv.resources.cpus.reset(); }},
            {"memory", [](auto& sv) { sv.resources.memory_bytes = 8LL << 30; }},
            {"gpus", [](auto& sv) { sv.resources.gpus = "all"; }},
            {"gpus unset", [](auto& sv) { sv.resources.gpus.reset(); }},
            {"volume added",
             [](auto& sv) {
                 sv.volumes.push_back({"/data", "/data", "", true});
             }},
            {"volume removed", [](auto& sv) { sv.volumes.pop_back(); }},
            {"volume source", [](auto& sv) { sv.volumes[0].source = "/srv/other"; }},
            {"volume target", [](auto& sv) { sv.volumes[0].target = "/m"; }},
            {"volume options", [](auto& sv) { sv.volumes[0].options = "rw"; }},
            {"restart", [](auto& sv) { sv.restart = "always"; }},
            {"port the model listens on", [](auto& sv) { sv.port = 8001; }},
        };
        for (const auto& [what, change] : changes) {
            CAPTURE(what);
            auto s = demo_stack();
            change(s.services[0]);
            CHECK(replica_hash(s) != h);
        }

        SUBCASE("the image id (a rebuilt image under the same tag)") {
            CHECK(replica_hash(base, 1, "sha256:2222") != h);
            CHECK(replica_hash(base, 1, "") != h);
        }
        SUBCASE("the network") {
            auto s = demo_stack();
            s.network = "other_net";
            CHECK(replica_hash(s) != h);
        }
    }

    TEST_CASE("the replica hash ignores what does not touch the container") {
        const auto h = replica_hash(demo_stack());
        auto s = demo_stack();
        s.services[0].replicas = 7;           // a scale is not a roll
        s.balancer.algorithm = "least_conn";  // the balancer's business
        s.balancer.port = 9999;
        s.services[1].env["OTHER"] = "1";  // another service
        CHECK(replica_hash(s) == h);
    }

    TEST_CASE("the balancer hash follows its image, image id and published port") {
        const auto base = demo_stack();
        const auto h = balancer_hash(base);
        CHECK(balancer_hash(demo_stack()) == h);
        CHECK(balancer_hash(base, "sha256:2222") != h);

        auto s = demo_stack();
        s.balancer.port = 9090;
        CHECK(balancer_hash(s) != h);
        s = demo_stack();
        s.balancer.host_ip = "0.0.0.0";
        CHECK(balancer_hash(s) != h);
        s = demo_stack();
        s.balancer.image = "docker.io/library/nginx:mainline";
        CHECK(balancer_hash(s) != h);

        // Routes, algorithm, limits and the replicas go into nginx.conf, reloaded in place.
        s = demo_stack();
        s.balancer.algorithm = "ip_hash";
        s.balancer.routes.push_back({"/v2", "llm"});
        s.balancer.timeout = 10s;
        s.balancer.max_body_bytes = 1;
        s.services[0].image = "ghcr.io/acme/llm:9";
        CHECK(balancer_hash(s) == h);
    }

    TEST_CASE("replica and balancer hashes differ") {
        const auto s = demo_stack();
        CHECK(replica_hash(s) != balancer_hash(s));
        CHECK(plan::replica_spec(s, s.services[0], 1, kImageId).labels.at(label::config_hash) !=
              plan::replica_spec(s, s.services[1], 1, kImageId).labels.at(label::config_hash));
    }

    TEST_CASE("stack_labels names the stack") {
        const auto l = plan::stack_labels(demo_stack());
        CHECK(l.size() == 1);
        CHECK(l.at("io.mldeploy.stack") == "demo");
    }

}  // TEST_SUITE
