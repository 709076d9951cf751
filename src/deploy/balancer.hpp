// The balancer protocol in one place: what mldeploy gives the nginx balancer
// (its config and the deployed stack, in files under /etc/mldeploy), how a new
// balancer gets its first files, how a running one is reloaded and drained, and
// what it exposes. Only the published port's routes and /_mldeploy/health face
// clients; the pages mldeploy reads (/_mldeploy/config, /_mldeploy/status)
// listen on kControlPort, which is never published.
#pragma once

#include "deploy/clock.hpp"
#include "deploy/prober.hpp"
#include "engine/engine.hpp"
#include "render/nginx.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

// What a balancer is given for one set of replicas.
struct BalancerFiles {
    std::string config;       // nginx.conf
    std::string marker;       // its drain marker, which names it
    std::string stack_json;   // the deployed stack, without secret values
    std::string fingerprint;  // of stack_json
};

// The files for `stack` with `addresses` taking traffic.
BalancerFiles balancer_files(const stack::Stack& stack, const render::ReplicaAddresses& addresses);
// The same, routed by `routed` (a canary's routing, plan/canary.hpp) while
// stack.json keeps `stack`: a later command never sees the canary's service.
BalancerFiles balancer_files(const stack::Stack& stack, const stack::Stack& routed,
                             const render::ReplicaAddresses& addresses);

// The stack as the balancer keeps it (stack.json): the resolved stack with
// replica counts as in its file, and no env or build-arg values: those stay in
// the model containers (load_deployed_stack reads them back from a replica).
std::string deployed_stack_json(const stack::Stack& stack);
// Stands for a value kept only in the replicas.
inline constexpr const char* kValueInReplicas = "<in the replicas>";

// How /proc/net/tcp{,6} writes address:port ("0500580A:1388" for 10.88.0.5:5000),
// so that a script inside the balancer counts the connections to a replica.
std::string proc_net_tcp_address(const std::string& address_with_port);

// A drain after a reload: wait until the balancer holds no open connection to
// any of `addresses` ("ip:port"), at most `budget`.
struct Drain {
    std::vector<std::string> addresses;
    std::chrono::milliseconds budget{0};
};

class Balancer {
public:
    Balancer(engine::Engine& engine, Prober& prober, Clock& clock, util::Output& out, const stack::Stack& stack);

    const std::optional<std::string>& id() const { return id_; }

    // Takes over a running balancer and learns which config it runs.
    void adopt(const std::string& id);
    // Creates and starts a balancer from `spec` (the name and port may differ
    // from the canonical ones) with `files` as its first config, and waits
    // until it answers on its published port. On failure nothing is left of it
    // and the balancer in use (if any) is unchanged. Returns its id.
    std::string start(engine::ContainerSpec spec, const BalancerFiles& files);
    // Makes `id` (from start()) the balancer in use, running `files`.
    void use(const std::string& id, const BalancerFiles& files);
    // Another run made the balancer: waits until it answers, then adopts it.
    void adopt_starting(const std::string& name);

    // Gives the balancer in use `files` when it runs others (a reload), then
    // waits out `drain`. Returns the connections still open when the budget ran out.
    int sync(const BalancerFiles& files, const Drain& drain = {});

    // Stops `id` the way nginx finishes gracefully: it stops accepting, lets
    // requests in flight end (at most `budget`), then the container is stopped.
    void stop_gracefully(const std::string& id, std::chrono::milliseconds budget);

    // Waits until the balancer answers /_mldeploy/health on `port` of the host.
    void wait_answers(const std::string& id, int port);

private:
    void learn_running_config();
    std::optional<render::RunningConfig> read_control_page(const std::string& id);
    int reload(const BalancerFiles& files, const Drain& drain);
    std::string url(int port, const std::string& path) const;

    engine::Engine& engine_;
    Prober& prober_;
    Clock& clock_;
    util::Output& out_;
    const stack::Stack& stack_;
    std::optional<std::string> id_;
    std::optional<render::RunningConfig> running_;  // nullopt: unknown, written anew
};

// Stops a balancer as Balancer::stop_gracefully does.
void stop_balancer_gracefully(engine::Engine& engine, const std::string& id, std::chrono::milliseconds budget,
                              util::Output& out);

// How long before a reload clients get answers that close their connections.
inline constexpr std::chrono::milliseconds kConnectionDrain{300};

// Throws DeployError: `what`, a `hint` line if any, then the container's last log
// lines with repeated lines collapsed (or that it wrote none).
[[noreturn]] void throw_with_logs(engine::Engine& engine, const std::string& id, const std::string& what,
                                  const std::string& hint = "");

}  // namespace mldeploy::deploy
