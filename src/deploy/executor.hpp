// Executes a plan on the engine: starts replicas and waits for their health,
// keeps the balancer's upstreams equal to the healthy replicas, rolls replicas
// one at a time (rolling a failed update back), drains what leaves, and removes
// what is no longer wanted, in an order that never sends a request to a replica
// that is not ready or is going away. Its engine, prober and clock are
// injected: tests/unit/executor_test.cpp runs every rule on fakes.
#pragma once

#include "deploy/balancer.hpp"
#include "deploy/canary.hpp"
#include "deploy/clock.hpp"
#include "deploy/health_probe.hpp"
#include "deploy/prober.hpp"
#include "engine/engine.hpp"
#include "plan/plan.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace mldeploy::deploy {

// What the executor works with besides the engine; null members: the real ones
// (the system clock, HTTP from this host or inside the balancer).
struct Collaborators {
    // NOLINTNEXTLINE(google-explicit-constructor): `{}` and `{&clock, &prober}` are how callers write it
    Collaborators(Clock* c = nullptr, Prober* p = nullptr, VersionMeter* m = nullptr, std::function<bool()> i = {})
        : clock(c), prober(p), meter(m), interrupted(std::move(i)) {}
    Clock* clock = nullptr;
    Prober* prober = nullptr;
    VersionMeter* meter = nullptr;  // a canary's figures; null: the balancer's access log
    // Whether Ctrl-C or SIGTERM came during a canary; null: the process's signals.
    std::function<bool()> interrupted;
};

// The image ids a plan was made with: service name -> id, and the balancer's.
struct ImageIds {
    std::map<std::string, std::string> services;
    std::string balancer;
};

class Executor {
public:
    Executor(engine::Engine& engine, const stack::Stack& stack, util::Output& out, Collaborators with = {});

    void apply(const plan::Plan& plan, const plan::Observed& observed, const ImageIds& images);

private:
    struct Member {
        std::string id;
        std::string name;
        std::string address;  // ip:port the balancer sends to
    };
    using Slot = std::pair<std::string, int>;  // service, replica

    void adopt_running(const plan::Plan& plan, const plan::Observed& observed);
    void remove_leaving(const plan::Plan& plan);
    void start_new_replicas(const std::vector<plan::ReplicaSlot>& slots, const ImageIds& images);
    void replace_service(const std::vector<plan::Replacement>& replacements, const std::string& image_id);
    // [rollout] strategy = "canary": the new version beside the old, judged step by step.
    void canary_service(const std::vector<plan::Replacement>& replacements, const std::string& image_id);
    // One step of a canary: `percent` of the service's traffic on the new
    // version until the judge passes or fails it. Returns the failure, if any.
    std::optional<std::string> canary_step(const stack::Service& service, std::size_t step, int percent);
    void start_balancer(const std::string& image_id);
    void replace_balancer(const plan::ObservedContainer& old, const std::string& image_id);
    void check_started_still_run();

    Member start_replica(const stack::Service& service, int replica, const std::string& name,
                         const std::string& image_id);
    void wait_ready(const stack::Service& service, const std::string& id, const std::string& name);
    // What a replica that never got healthy looks like (deploy/health_hint.hpp).
    std::string unhealthy_hint(const stack::Service& service, const std::string& id, const std::string& path,
                               const ProbeResult& last);
    std::string replica_address(const stack::Service& service, const std::string& id);
    void stop_and_remove(const std::string& id, const std::string& name);
    void stop_and_remove_all(const std::vector<Member>& members);

    std::string balancer_for_probes();  // the running balancer, waiting for one that is starting
    BalancerFiles files();              // for the current members
    int sync(const Drain& drain = {});
    std::chrono::milliseconds longest_drain() const;

    engine::Engine& engine_;
    const stack::Stack& stack_;
    util::Output& out_;
    Clock& clock_;
    std::unique_ptr<HealthProber> own_prober_;
    Prober& prober_;
    std::unique_ptr<LogMeter> own_meter_;
    VersionMeter& meter_;
    std::function<bool()> interrupted_;
    // During a canary: the stack the balancer routes by (plan/canary.hpp).
    std::optional<stack::Stack> routing_;
    Balancer balancer_;
    engine::GpuInventory host_gpus_;  // read once, when a service asks for a GPU count

    std::mutex members_mutex_;
    std::map<Slot, Member> members_;  // replicas that take traffic
    std::set<std::string> started_;   // ids of the replicas this run started
    // Set while the balancer is being created alongside the replicas; only the
    // thread that runs apply() sets and clears it.
    std::shared_future<std::string> balancer_starting_;
    std::string old_balancer_;  // a running balancer that this run replaces: probes may run in it
};

}  // namespace mldeploy::deploy
