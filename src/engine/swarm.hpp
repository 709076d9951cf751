// The Docker Swarm flavour: a Docker engine that is a swarm manager, with
// Swarm's service API beside the container API it inherits (/v1.41, dockerd
// 20.10). mldeploy's swarm target (deploy/swarm_*.hpp) runs a stack as Swarm
// services; Swarm itself keeps the replicas running, rolls updates and rolls
// them back.
//
// What Swarm does differently on the machines mldeploy is tested on, and how
// this flavour deals with it:
//   - no IPVS in the kernel: service VIPs and the ingress routing mesh do not
//     work. Every service here is `dnsrr` (tasks.<service> answers each task's
//     address) and ports are published in `host` mode;
//   - a task's image is looked up in a registry before every start, even when
//     the node holds it, unless the image is given by its id ("sha256:..."):
//     the swarm target passes the local id on a single-node swarm;
//   - errors of the service API come as {"message"} like the rest of Docker's;
//     a node that is not a manager answers 503 "This node is not a swarm
//     manager", which swarm_status() reports rather than throws.
#pragma once

#include "engine/docker.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::engine {

struct SwarmStatus {
    std::string local_state;  // "inactive" | "pending" | "active" | "error" | "locked"
    bool manager = false;     // this node can take the service API
    int nodes = 0;            // nodes in the swarm (0 when not a manager)
    std::string node_id;
};

// Docker's HEALTHCHECK of a service's containers: a command run inside them.
struct ServiceHealthCheck {
    std::vector<std::string> test;  // {"CMD-SHELL", "..."} or {"CMD", ...}
    std::chrono::milliseconds interval{2000};
    std::chrono::milliseconds timeout{1000};
    std::chrono::milliseconds start_period{0};
    int retries = 3;
};

// UpdateConfig and RollbackConfig.
struct UpdatePolicy {
    int parallelism = 1;
    std::string order = "start-first";        // start-first | stop-first
    std::string failure_action = "rollback";  // rollback | pause | continue (rollback: pause | continue)
    std::chrono::milliseconds monitor{5000};
    std::chrono::milliseconds delay{0};
};

// A Swarm config object mounted as a file in the service's containers.
struct ServiceConfigFile {
    std::string config_id;
    std::string config_name;
    std::string file;  // absolute path inside the container
};

struct ServiceSpec {
    std::string name;
    Labels labels;            // on the service
    Labels container_labels;  // on each task's container
    std::string image;
    std::map<std::string, std::string> env;
    std::vector<std::string> command;  // empty = image default; sent as Args (the image's CMD), as `docker run` does
    std::vector<Mount> mounts;
    std::vector<std::string> networks;  // names or ids
    // Further DNS names of the service on each of its networks (dnsrr: each
    // answers every task's address, as tasks.<name> does).
    std::vector<std::string> aliases;
    // Replicated with this many tasks; nullopt = global (one task per node).
    std::optional<int> replicas;
    bool job = false;                       // a replicated job: runs `replicas` tasks to completion once
    std::vector<PortBinding> ports;         // published in host mode
    bool dnsrr = true;                      // EndpointSpec.Mode dnsrr (no VIP: see above)
    std::string restart_condition = "any";  // none | on-failure | any
    std::optional<int> restart_max_attempts;
    std::chrono::milliseconds restart_delay{1000};
    std::optional<double> cpus;
    std::optional<std::int64_t> memory_bytes;
    std::optional<ServiceHealthCheck> health;
    std::optional<UpdatePolicy> update;
    std::optional<UpdatePolicy> rollback;
    std::vector<ServiceConfigFile> configs;
    int stop_grace_s = 10;
    std::optional<std::string> stop_signal;
};

// The body of POST /services/create (and of an update) for `spec`. Pure.
// Throws std::invalid_argument for what Swarm cannot take (a restart condition
// or update order it does not know; a job that is global).
nlohmann::json swarm_service_body(const ServiceSpec& spec);

struct ServiceState {
    std::string id;
    std::string name;
    std::uint64_t version = 0;  // Version.Index: an update must name it
    Labels labels;
    std::optional<int> replicas;  // nullopt: global
    std::string image;            // TaskTemplate.ContainerSpec.Image
    // UpdateStatus: State ("updating", "paused", "completed", "rollback_started",
    // "rollback_paused", "rollback_completed"; "" when never updated) and Message.
    std::string update_state;
    std::string update_message;
    nlohmann::json spec;  // Spec, as the engine holds it (for an update of one field)
};

struct TaskState {
    std::string id;
    std::string service_id;
    int slot = 0;  // replicated services; 0 for global
    std::string node_id;
    std::string desired_state;  // running | shutdown | ...
    std::string state;          // new | pending | ... | running | complete | failed | shutdown | rejected
    std::string message;
    std::string error;
    std::string container_id;
    std::string address;  // on the first attached network, without the prefix length
    std::string updated_at;
    int exit_code = 0;
    Labels container_labels;  // Spec.ContainerSpec.Labels: the spec the task was made from
    std::string image;        // Spec.ContainerSpec.Image
};

struct ConfigSummary {
    std::string id;
    std::string name;
    Labels labels;
};

// Swarm's service API as the swarm target needs it: an interface of its own
// beside Engine, so that the deploy layer's rules run on a fake in the unit
// tests (tests/unit/fake_swarm.hpp).
class Swarm {
public:
    virtual ~Swarm() = default;

    // GET /info's Swarm part. Never throws for a node that is not in a swarm.
    virtual SwarmStatus swarm_status() = 0;

    virtual std::string create_service(const ServiceSpec& spec) = 0;  // returns the id
    // Replaces the service's spec with `spec` (a rolling update when the task
    // template changed). `current` gives the version the update is against.
    virtual void update_service(const ServiceState& current, const ServiceSpec& spec) = 0;
    // The same with only the replica count changed (the spec the engine holds).
    virtual void scale_service(const ServiceState& current, int replicas) = 0;
    virtual ServiceState inspect_service(const std::string& id_or_name) = 0;  // not_found when absent
    virtual std::vector<ServiceState> list_services(const Labels& label_filter) = 0;
    virtual void remove_service(const std::string& id_or_name) = 0;  // absent is not an error
    // Newest first within a slot, slots in order.
    virtual std::vector<TaskState> list_tasks(const std::string& service_id) = 0;
    // Logs of every task of the service (GET /services/{id}/logs); each line
    // goes to `sink` with the task's id when the engine names it.
    using ServiceLogSink = std::function<void(LogStream, const std::string& task_id, std::string_view line)>;
    virtual void service_logs(const std::string& service_id, const Engine::LogOptions& options,
                              const ServiceLogSink& sink) = 0;

    virtual std::string create_config(const std::string& name, const std::string& data, const Labels& labels) = 0;
    virtual std::vector<ConfigSummary> list_configs(const Labels& label_filter) = 0;
    virtual void remove_config(const std::string& id_or_name) = 0;  // absent or in use: not an error

    // The overlay network of a stack: attachable, labelled.
    virtual void create_overlay_network(const std::string& name, const Labels& labels) = 0;
};

class SwarmEngine : public DockerEngine, public Swarm {
public:
    explicit SwarmEngine(std::string socket_path = docker_default_socket) : DockerEngine(std::move(socket_path)) {}

    EngineInfo info() override;

    SwarmStatus swarm_status() override;
    std::string create_service(const ServiceSpec& spec) override;
    void update_service(const ServiceState& current, const ServiceSpec& spec) override;
    void scale_service(const ServiceState& current, int replicas) override;
    ServiceState inspect_service(const std::string& id_or_name) override;
    std::vector<ServiceState> list_services(const Labels& label_filter) override;
    void remove_service(const std::string& id_or_name) override;
    std::vector<TaskState> list_tasks(const std::string& service_id) override;
    void service_logs(const std::string& service_id, const Engine::LogOptions& options,
                      const ServiceLogSink& sink) override;
    std::string create_config(const std::string& name, const std::string& data, const Labels& labels) override;
    std::vector<ConfigSummary> list_configs(const Labels& label_filter) override;
    void remove_config(const std::string& id_or_name) override;
    void create_overlay_network(const std::string& name, const Labels& labels) override;
};

// A service from GET /services or /services/{id}. Pure (for the unit tests).
ServiceState service_state_of(const nlohmann::json& service);
// A task from GET /tasks. Pure.
TaskState task_state_of(const nlohmann::json& task);

}  // namespace mldeploy::engine
