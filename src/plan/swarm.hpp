// The swarm target's plan: what Swarm should hold for a stack (a service per
// model service, the balancer as a global service with its nginx.conf in a
// config object, an overlay network), what it holds, and the difference. Pure:
// no engine call. Swarm itself then runs the plan's updates (its UpdateConfig
// rolls them, start-first, and rolls a failed one back).
#pragma once

#include "engine/swarm.hpp"
#include "stack/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::plan::swarm {

// "<stack>-<service>", "<stack>-balancer": Swarm's DNS answers tasks.<name>.
std::string service_name(const stack::Stack& stack, const std::string& service);
std::string balancer_service_name(const stack::Stack& stack);

// The balancer's nginx.conf: each route's service resolved per request as
// tasks.<stack>-<service> through Docker's DNS (no VIPs here: no IPVS).
std::string balancer_config(const stack::Stack& stack);
// The config object's name for that text: "<stack>-nginx-<hash>", so a changed
// config is a new object (Swarm's configs cannot change).
std::string config_name(const stack::Stack& stack, const std::string& config_text);

// How a task's image is named in the service: on a single-node swarm its local
// id ("sha256:..."), which Swarm starts without asking a registry first; on
// more nodes the reference, which each node pulls.
struct ImageChoice {
    std::string reference;  // as the stack names it
    std::string id;         // the local id; "" when not known (yet)
};
std::string task_image(const ImageChoice& image, int nodes);

// The model service of `service`, with `replicas` tasks.
engine::ServiceSpec model_service(const stack::Stack& stack, const stack::Service& service, const std::string& image,
                                  int replicas);
// "<stack>-job-<job>-<run>": run number `run` of a job, as a service.
std::string job_service_name(const stack::Stack& stack, const std::string& job, int run);
// Run number `run` of `job` (`mldeploy run` on a swarm): a replicated job of
// one task that is never restarted, on the stack's overlay network, labelled
// role=job with the job's name and run number. Non-empty `args` replace the
// job's command.
engine::ServiceSpec job_service(const stack::Stack& stack, const stack::Job& job, const std::string& image, int run,
                                const std::vector<std::string>& args);

// The balancer: one task per node (global), port published in host mode,
// nginx.conf from the config object.
engine::ServiceSpec balancer_service(const stack::Stack& stack, const std::string& image,
                                     const engine::ServiceConfigFile& config);

// The health check a model service's tasks run: an HTTP GET of health.path on
// 127.0.0.1 with curl, else wget, else bash's /dev/tcp (no interpreter start
// per check: on busy cores a Python per check timed out and Swarm then
// replaced healthy tasks).
std::vector<std::string> health_test(int port, const std::string& path, std::chrono::milliseconds timeout);

// The hash a service spec carries in io.mldeploy.config-hash: everything but
// its replica count.
std::string spec_hash(const engine::ServiceSpec& spec);
// `spec` with that label set, on the service and on its tasks' containers.
engine::ServiceSpec with_hash(engine::ServiceSpec spec);

// What Swarm holds of a stack.
struct ObservedService {
    std::string id;
    std::string name;
    std::string role;     // model | balancer | job
    std::string service;  // the model service's name
    std::string hash;     // io.mldeploy.config-hash
    std::optional<int> replicas;
    std::string update_state;
};
struct Observed {
    bool network_exists = false;
    int nodes = 1;
    std::vector<ObservedService> services;
    std::vector<engine::ConfigSummary> configs;
};
Observed observe(const std::vector<engine::ServiceState>& services, const std::vector<engine::ConfigSummary>& configs,
                 bool network_exists, int nodes);

struct ServiceAction {
    enum class Kind { create, update, scale, remove, keep };
    Kind kind = Kind::keep;
    std::string name;     // the Swarm service
    std::string service;  // the model service ("" for the balancer)
    std::string id;       // update, scale, remove
    int from = 0;
    int to = 0;
    std::string reason;  // update: why
};

struct Plan {
    bool create_network = false;
    std::string network;
    std::optional<std::string> create_config;  // its name, when Swarm does not hold it yet
    std::vector<ServiceAction> services;       // models in the stack's order, then the balancer, then removals
    std::vector<std::string> remove_configs;   // the stack's configs no service will name (ids)
    bool empty() const;
};

struct Desired {
    std::vector<engine::ServiceSpec> models;  // with hashes, in the stack's order
    engine::ServiceSpec balancer;
    std::string config;  // its name
};

struct Options {
    bool counts_only = false;             // scale: counts change, nothing is updated
    std::map<std::string, int> replicas;  // per model service: overrides the stack's count
};

Plan make_plan(const Desired& desired, const Observed& observed, const std::string& network, const Options& options);

// The plan's lines, as `up --dry-run` prints them.
std::vector<std::string> describe(const Plan& plan);

// The images of a stack that only this machine holds (no registry in the
// name), when the swarm has more than one node: each node would need them.
// Empty on a single node. Each line names the service and says to push.
std::vector<std::string> local_only_images(const stack::Stack& stack, int nodes);

}  // namespace mldeploy::plan::swarm
