// Desired (the stack) against observed (what the engine holds) -> a plan of
// steps. Pure: no engine calls here, so `up --dry-run` prints exactly what `up`
// executes and the planner is unit-tested without an engine.
#pragma once

#include "stack/model.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mldeploy::plan {

// A container of the stack as the engine reports it.
struct ObservedContainer {
    std::string id;
    std::string name;
    std::string role;     // model | balancer
    std::string service;  // model containers
    int replica = 0;      // model containers, from 1
    std::string config_hash;
    std::string state;  // running | exited | created | ...
    int port = 0;       // io.mldeploy.port: the model's port, or the balancer's host port
    bool running() const { return state == "running"; }
};

struct Observed {
    bool network_exists = false;
    std::vector<ObservedContainer> containers;
};

// What each service's replicas and the balancer should carry.
struct DesiredHashes {
    std::map<std::string, std::string> service;  // service name -> config hash
    std::string balancer;
};

struct ReplicaSlot {
    std::string service;
    int replica = 0;
};

struct Replacement {
    ReplicaSlot slot;
    ObservedContainer old;
    std::chrono::milliseconds drain{0};  // how long the old one's requests in flight may take to end
    bool restart = false;                // replaced because `restart` asked, not because its config changed
};

enum class BalancerAction { keep, create, recreate };

struct Plan {
    bool create_network = false;
    std::vector<ReplicaSlot> start;             // replicas that do not exist yet
    std::vector<Replacement> replace;           // rolled one at a time, new before old leaves
    std::vector<ObservedContainer> remove;      // surplus replicas, removed services, broken leftovers
    std::chrono::milliseconds remove_drain{0};  // how long the running ones among them get to finish requests
    BalancerAction balancer = BalancerAction::keep;
    std::optional<ObservedContainer> old_balancer;  // for recreate

    bool changes_replicas() const { return !start.empty() || !replace.empty() || !remove.empty(); }
    bool empty() const { return !create_network && !changes_replicas() && balancer == BalancerAction::keep; }
};

struct PlanOptions {
    std::map<std::string, int> replica_counts;       // overrides the stack's replicas per service (scale)
    bool counts_only = false;                        // scale: running replicas are kept whatever their config
    std::optional<std::chrono::milliseconds> drain;  // overrides every service's drain budget (--drain)
    // `restart`: every replica of these services is replaced, also one that runs the wanted config.
    std::set<std::string> restart;
};

Plan make_plan(const stack::Stack& stack, const Observed& observed, const DesiredHashes& desired,
               const PlanOptions& options);
// `replica_counts` overrides the stack's replicas per service (scale).
Plan make_plan(const stack::Stack& stack, const Observed& observed, const DesiredHashes& desired,
               const std::map<std::string, int>& replica_counts = {});

// The services whose replacements go as a canary ([rollout] strategy =
// "canary", every replaced replica running, none a restart). Their new slots
// start only once the canary passed, with the version it judged.
std::set<std::string> canary_services(const stack::Stack& stack, const Plan& plan);

// Human-readable lines, one per step ("no changes" for an empty plan).
std::vector<std::string> describe(const stack::Stack& stack, const Plan& plan);

}  // namespace mldeploy::plan
