// The swarm target of the deploy layer: `up`, `up --dry-run` and `scale` of a
// stack as Docker Swarm services (plan/swarm.hpp says what they are). The
// image steps are the engine target's (deploy/session.hpp); what differs is
// who runs the replicas: Swarm keeps them running, rolls an update start-first
// and rolls a failed one back (its UpdateConfig), and mldeploy waits until
// Swarm says the update converged or was rolled back, and says which.
#pragma once

#include "deploy/clock.hpp"
#include "deploy/executor.hpp"
#include "deploy/prober.hpp"
#include "deploy/session.hpp"
#include "engine/engine.hpp"
#include "engine/swarm.hpp"
#include "plan/swarm.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::deploy {

struct SwarmOptions {
    BuildPolicy build = BuildPolicy::when_changed;
    bool counts_only = false;             // scale
    std::map<std::string, int> replicas;  // scale: per model service
};

struct SwarmDeployPlan {
    ImagePlan images;
    plan::swarm::Observed observed;
    plan::swarm::Plan services;
    bool empty() const;
};

class SwarmSession {
public:
    // `engine` builds and inspects images (the manager's); `swarm` runs the services.
    SwarmSession(engine::Engine& engine, engine::Swarm& swarm, const stack::Stack& stack, util::Output& out,
                 SwarmOptions options, Collaborators with = {});

    // Reads the engine; changes nothing. Throws DeployError when an image only
    // this machine holds would have to run on other nodes (push it first).
    SwarmDeployPlan plan();
    std::vector<std::string> describe(const SwarmDeployPlan& plan) const;
    // Runs the image steps, then the services' plan, and waits until Swarm has
    // converged. Throws DeployError when Swarm rolled an update back (with its
    // reason) or a service never got its tasks running.
    void apply(const SwarmDeployPlan& plan);

private:
    plan::swarm::Desired desired(const ImageIds& ids, int nodes) const;
    void wait_converged(const std::vector<plan::swarm::ServiceAction>& actions, const plan::swarm::Desired& desired);

    engine::Engine& engine_;
    engine::Swarm& swarm_;
    const stack::Stack& stack_;
    util::Output& out_;
    SwarmOptions options_;
    Clock& clock_;
    Prober* prober_;
};

// What to wait for: a service whose every task runs the spec with `hash`,
// `replicas` of them (nullopt: global, every node's).
struct ServiceWait {
    std::string service;  // id or name
    std::string hash;
    std::optional<int> replicas;
    std::chrono::milliseconds budget;
    bool update = false;  // says "update converged" when done
};
// Waits until every service converged. Throws DeployError when Swarm rolled an
// update back (its reason, and the failed task's), paused it, or a budget ran out.
void wait_services(engine::Swarm& swarm, const std::vector<ServiceWait>& waits, util::Output& out, Clock& clock);

// `scale` on a swarm: the model service's replica count, then the wait. Needs
// no stack file.
void scale_swarm_service(engine::Swarm& swarm, const std::string& stack_name, const std::string& service, int replicas,
                         util::Output& out, Clock* clock = nullptr);

// The stack's services, configs and network on the swarm (labels only).
bool swarm_stack_exists(engine::Swarm& swarm, engine::Engine& engine, const std::string& stack_name);
// Every stack name the swarm's services carry.
std::vector<std::string> swarm_stacks(engine::Swarm& swarm);
// Removes the stack's services (the balancer first), then its configs and
// network once the tasks are gone. Returns how many objects went.
std::size_t remove_swarm_stack(engine::Engine& engine, engine::Swarm& swarm, const std::string& stack_name,
                               util::Output& out, Clock* clock = nullptr);

// One row of `ps` on a swarm: a task that runs or should.
struct SwarmTaskRow {
    std::string role;
    std::string service;  // the model service ("" for the balancer)
    std::string name;     // <swarm service>.<slot> (global: .<node>)
    int slot = 0;
    std::string state;  // Swarm's task state
    std::string desired;
    std::string address;
    std::string ports;
    std::string error;
    std::string image;
};
std::vector<SwarmTaskRow> swarm_tasks(engine::Swarm& swarm, const std::string& stack_name);

}  // namespace mldeploy::deploy
