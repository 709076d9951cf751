// Executes a plan on the engine: starts replicas and waits for their health,
// keeps the balancer's upstreams equal to the healthy replicas, rolls replicas
// one at a time and removes what is no longer wanted, in an order that never
// sends a request to a replica that is not ready or is going away.
#pragma once

#include "deploy/health_probe.hpp"
#include "engine/engine.hpp"
#include "plan/plan.hpp"
#include "render/nginx.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace mldeploy::deploy {

struct DeployOptions {
    std::chrono::seconds drain{10};   // how long a replica leaving gets to finish its requests
    // Before a reload, how long clients get answers that close their connections.
    std::chrono::milliseconds connection_drain{300};
};

// The engine's view of a stack: its containers (by label) and whether its network exists.
plan::Observed observe_stack(engine::Engine& engine, const stack::Stack& stack);

class Deployer {
public:
    Deployer(engine::Engine& engine, const stack::Stack& stack, util::Output& out, DeployOptions options);

    // `service_images`: service name -> image id; `balancer_image`: its id.
    plan::DesiredHashes desired_hashes(const std::map<std::string, std::string>& service_images,
                                       const std::string& balancer_image) const;

    void apply(const plan::Plan& plan, const plan::Observed& observed,
               const std::map<std::string, std::string>& service_images, const std::string& balancer_image);

private:
    struct Member {
        std::string id;
        std::string name;
        std::string address;  // ip:port the balancer sends to
    };
    using Slot = std::pair<std::string, int>;  // service, replica

    void adopt_running_members(const plan::Plan& plan, const plan::Observed& observed);
    Member start_replica(const stack::Service& service, int replica, const std::string& name,
                         const std::string& image_id);
    void wait_healthy(const stack::Service& service, const std::string& id, const std::string& name);
    std::string replica_address(const stack::Service& service, const std::string& id);
    void remove_container(const std::string& id, const std::string& name, int stop_timeout_s);
    void start_named(const std::string& id, const std::string& what);
    [[noreturn]] void fail_with_logs(const std::string& id, const std::string& what);

    void create_balancer(const std::string& image_id);
    std::string balancer_for_probes();  // the running balancer, waiting for one that is starting
    void learn_running_config();  // what an adopted balancer runs now
    struct BalancerFiles {
        std::string config;       // nginx.conf for the current members
        std::string marker;       // its drain marker, which names it
        std::string stack_json;
        std::string fingerprint;  // of stack_json
    };
    BalancerFiles balancer_files();
    void sync_balancer();        // writes the config for the current members and reloads
    void wait_balancer_answers();
    std::string balancer_url(const std::string& path) const;
    bool clients_connected();     // anyone but this probe on the balancer's port
    void reload_balancer(const std::string& config, const std::string& running_marker);
    void wait_config_live(const std::string& marker);  // until new connections get this config

    engine::Engine& engine_;
    const stack::Stack& stack_;
    util::Output& out_;
    DeployOptions options_;

    std::mutex members_mutex_;
    std::map<Slot, Member> members_;       // replicas that take traffic
    HealthProber prober_;
    std::optional<std::string> balancer_id_;
    // Set while the balancer is being created alongside the replicas; only the
    // thread that runs apply() sets and clears it.
    std::shared_future<std::string> balancer_starting_;
    // What the balancer runs (its config's marker, its stack.json's
    // fingerprint); nullopt when unknown.
    std::optional<render::RunningConfig> running_;
};

// Where the balancer keeps the resolved stack it was last given: commands named
// only by -s read it back (scale needs the services' full configuration).
inline constexpr const char* kDeployedStackFile = "stack.json";

// The stack as last deployed, read from its balancer; nullopt when the stack has
// no balancer or the balancer holds no stack.json.
std::optional<stack::Stack> load_deployed_stack(engine::Engine& engine, const std::string& stack_name);

}  // namespace mldeploy::deploy
