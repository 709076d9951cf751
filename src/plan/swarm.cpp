#include "plan/swarm.hpp"

#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "render/nginx.hpp"
#include "util/hash.hpp"
#include "util/image_ref.hpp"
#include "util/units.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace mldeploy::plan::swarm {
namespace {

using namespace std::chrono_literals;

// Docker's DNS inside every container on a user-defined network.
constexpr const char* kDockerResolver = "127.0.0.11";

std::string label_of(const engine::Labels& labels, const char* key) {
    const auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
}

// Swarm's restart conditions for the stack's `restart`.
std::string restart_condition(const std::string& restart) {
    if (restart == "no") return "none";
    if (restart == "on-failure") return "on-failure";
    return "any";  // always, unless-stopped
}

}  // namespace

std::string service_name(const stack::Stack& stack, const std::string& service) { return stack.name + "-" + service; }

std::string balancer_service_name(const stack::Stack& stack) { return stack.name + "-balancer"; }

std::string balancer_config(const stack::Stack& stack) {
    render::ResolvedNames names{kDockerResolver, {}, "1s"};
    // Every service, also one at 0 replicas: `scale` changes counts without a new config.
    for (const auto& s : stack.services)
        names.targets[s.name] = fmt::format("tasks.{}:{}", service_name(stack, s.name), s.port);
    return render::render_nginx_config_resolved(stack, names);
}

std::string config_name(const stack::Stack& stack, const std::string& config_text) {
    return stack.name + "-nginx-" + util::fnv1a_hex(config_text).substr(0, 12);
}

std::string task_image(const ImageChoice& image, int nodes) {
    return nodes <= 1 && !image.id.empty() ? image.id : image.reference;
}

std::vector<std::string> health_test(int port, const std::string& path, std::chrono::milliseconds timeout) {
    const auto seconds = std::max<long long>(1, (timeout.count() + 999) / 1000);
    const auto url = fmt::format("http://127.0.0.1:{}{}", port, path);
    // bash's /dev/tcp: the status line's code starts with 2.
    const auto tcp = fmt::format(
        "exec 3<>/dev/tcp/127.0.0.1/{} && printf \"GET {} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n\" >&3 && "
        "read -r v c r <&3 && case $c in 2[0-9][0-9]) exit 0;; esac; exit 1",
        port, path);
    return {"CMD-SHELL", fmt::format("if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null -m {0} {1}; "
                                     "elif command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null -T {0} {1}; "
                                     "else exec bash -c '{2}'; fi",
                                     seconds, url, tcp)};
}

engine::ServiceSpec model_service(const stack::Stack& stack, const stack::Service& service, const std::string& image,
                                  int replicas) {
    engine::ServiceSpec spec;
    spec.name = service_name(stack, service.name);
    spec.labels = stack_labels(stack);
    spec.labels[label::role] = label::role_model;
    spec.labels[label::service] = service.name;
    spec.labels[label::port] = std::to_string(service.port);
    if (service.health) spec.labels[label::health_path] = service.health->path;
    spec.image = image;
    spec.env = service.env;
    spec.command = service.command;
    spec.mounts = mounts_of(service.volumes);
    spec.networks = {stack.network};
    // As on one engine, a job (or any container on the network) reaches the
    // service by its own name.
    spec.aliases = {service.name};
    spec.replicas = replicas;
    spec.restart_condition = restart_condition(service.restart);
    spec.cpus = service.resources.cpus;
    spec.memory_bytes = service.resources.memory_bytes;
    if (service.health) {
        const auto& h = *service.health;
        // The GET itself keeps the stack's timeout; the check gets 5 s more, since
        // Docker runs it as an exec in the container (runc), which took over 1 s on
        // 2 busy cores: Swarm then killed healthy tasks, and with every task
        // "unhealthy" at once tasks.<service> answered nothing (502s).
        spec.health = engine::ServiceHealthCheck{health_test(service.port, h.path, h.timeout), h.interval,
                                                 h.timeout + std::chrono::milliseconds(5s), h.start_period, h.retries};
    }
    // Swarm rolls an update: a new task first, healthy, then the old one goes;
    // one at a time; a task that fails within the monitor window rolls the
    // whole service back to the spec it had.
    const auto monitor = std::max<std::chrono::milliseconds>(
        2s, service.health ? service.health->interval : std::chrono::milliseconds(2s));
    spec.update = engine::UpdatePolicy{1, "start-first", "rollback", monitor, 0ms};
    spec.rollback = engine::UpdatePolicy{1, "start-first", "pause", monitor, 0ms};
    // A leaving task's requests in flight: its `drain`, else 10 s (the balancer's
    // timeout, 300 s by default, would hold every rolled task that long).
    spec.stop_grace_s = static_cast<int>(
        std::chrono::duration_cast<std::chrono::seconds>(service.drain.value_or(std::chrono::milliseconds(10s)))
            .count());
    return spec;
}

engine::ServiceSpec balancer_service(const stack::Stack& stack, const std::string& image,
                                     const engine::ServiceConfigFile& config) {
    engine::ServiceSpec spec;
    spec.name = balancer_service_name(stack);
    spec.labels = stack_labels(stack);
    spec.labels[label::role] = label::role_balancer;
    spec.labels[label::port] = std::to_string(stack.balancer.port);
    spec.image = image;
    spec.command = {"nginx", "-c", render::kBalancerConfigPath, "-g", "daemon off;"};
    spec.networks = {stack.network};
    spec.replicas = std::nullopt;  // global: the port answers on every node
    spec.ports.push_back({"", stack.balancer.port, render::kBalancerListenPort, "tcp"});
    spec.restart_condition = "any";
    spec.configs = {config};
    spec.stop_signal = "SIGQUIT";  // nginx's graceful quit
    spec.stop_grace_s = 5;
    // The port is the node's (host mode): a new task can only start once the old one has left it.
    spec.update = engine::UpdatePolicy{1, "stop-first", "rollback", 2s, 0ms};
    spec.rollback = engine::UpdatePolicy{1, "stop-first", "pause", 2s, 0ms};
    return spec;
}

std::string spec_hash(const engine::ServiceSpec& spec) {
    auto body = engine::swarm_service_body(spec);
    body.erase("Mode");
    body["Labels"].erase(label::config_hash);
    body["TaskTemplate"]["ContainerSpec"]["Labels"].erase(label::config_hash);
    return util::fnv1a_hex(body.dump());
}

engine::ServiceSpec with_hash(engine::ServiceSpec spec) {
    const auto hash = spec_hash(spec);
    spec.labels[label::config_hash] = hash;
    // On the task's container spec too: a task shows which spec it was made
    // from (and any change makes new tasks, so Swarm always rolls it).
    spec.container_labels[label::config_hash] = hash;
    return spec;
}

Observed observe(const std::vector<engine::ServiceState>& services, const std::vector<engine::ConfigSummary>& configs,
                 bool network_exists, int nodes) {
    Observed o;
    o.network_exists = network_exists;
    o.nodes = nodes;
    for (const auto& s : services)
        o.services.push_back({s.id, s.name, label_of(s.labels, label::role), label_of(s.labels, label::service),
                              label_of(s.labels, label::config_hash), s.replicas, s.update_state});
    o.configs = configs;
    return o;
}

bool Plan::empty() const {
    if (create_network || create_config || !remove_configs.empty()) return false;
    return std::all_of(services.begin(), services.end(),
                       [](const auto& a) { return a.kind == ServiceAction::Kind::keep; });
}

namespace {

const ObservedService* find_observed(const Observed& observed, const std::string& name) {
    for (const auto& s : observed.services)
        if (s.name == name) return &s;
    return nullptr;
}

// An update Swarm stopped before it was done: send the spec again.
bool stopped_half_way(const std::string& update_state) {
    return update_state == "paused" || update_state == "rollback_paused";
}

ServiceAction action_for(const engine::ServiceSpec& spec, const std::string& service, const Observed& observed,
                         bool counts_only) {
    ServiceAction a;
    a.name = spec.name;
    a.service = service;
    a.to = spec.replicas.value_or(0);
    const auto* current = find_observed(observed, spec.name);
    if (current == nullptr) {
        a.kind = ServiceAction::Kind::create;
        return a;
    }
    a.id = current->id;
    a.from = current->replicas.value_or(0);
    const auto& wanted = spec.labels.at(label::config_hash);
    if (!counts_only && current->hash != wanted) {
        a.kind = ServiceAction::Kind::update;
        a.reason = "config changed";
    } else if (!counts_only && stopped_half_way(current->update_state)) {
        a.kind = ServiceAction::Kind::update;
        a.reason = fmt::format("its last update stopped half-way: {}", current->update_state);
    } else if (spec.replicas && current->replicas != spec.replicas) {
        a.kind = ServiceAction::Kind::scale;
    }
    return a;
}

}  // namespace

Plan make_plan(const Desired& desired, const Observed& observed, const std::string& network, const Options& options) {
    Plan p;
    p.network = network;
    p.create_network = !observed.network_exists;
    const bool config_held = std::any_of(observed.configs.begin(), observed.configs.end(),
                                         [&](const auto& c) { return c.name == desired.config; });
    if (!config_held) p.create_config = desired.config;
    for (auto spec : desired.models) {
        const auto service = label_of(spec.labels, label::service);
        if (auto it = options.replicas.find(service); it != options.replicas.end()) spec.replicas = it->second;
        p.services.push_back(action_for(spec, service, observed, options.counts_only));
    }
    p.services.push_back(action_for(desired.balancer, "", observed, options.counts_only));
    if (!options.counts_only) {
        for (const auto& s : observed.services) {
            const bool wanted =
                std::any_of(p.services.begin(), p.services.end(), [&](const auto& a) { return a.name == s.name; });
            if (!wanted && (s.role == label::role_model || s.role == label::role_balancer))
                p.services.push_back({ServiceAction::Kind::remove, s.name, s.service, s.id, 0, 0, {}});
        }
        for (const auto& c : observed.configs)
            if (c.name != desired.config) p.remove_configs.push_back(c.id);
    }
    return p;
}

std::vector<std::string> describe(const Plan& plan) {
    std::vector<std::string> lines;
    if (plan.create_network) lines.push_back(fmt::format("create overlay network {}", plan.network));
    if (plan.create_config)
        lines.push_back(fmt::format("create config {} (the balancer's nginx.conf)", *plan.create_config));
    for (const auto& a : plan.services) {
        switch (a.kind) {
            case ServiceAction::Kind::create:
                lines.push_back(a.service.empty() ? fmt::format("create service {} (global: one task per node)", a.name)
                                                  : fmt::format("create service {} ({} replica(s))", a.name, a.to));
                break;
            case ServiceAction::Kind::update:
                lines.push_back(
                    fmt::format("update service {} ({}; Swarm rolls its tasks {} and rolls back on failure)", a.name,
                                a.reason, a.service.empty() ? "stop-first" : "start-first, one at a time"));
                break;
            case ServiceAction::Kind::scale:
                lines.push_back(fmt::format("scale service {} from {} to {} replica(s)", a.name, a.from, a.to));
                break;
            case ServiceAction::Kind::remove:
                lines.push_back(fmt::format("remove service {}", a.name));
                break;
            case ServiceAction::Kind::keep:
                break;
        }
    }
    if (!plan.remove_configs.empty())
        lines.push_back(fmt::format("remove {} config(s) no service names any more", plan.remove_configs.size()));
    if (lines.empty()) lines.push_back("no changes: the stack is up to date");
    return lines;
}

std::string job_service_name(const stack::Stack& stack, const std::string& job, int run) {
    return fmt::format("{}-job-{}-{}", stack.name, job, run);
}

engine::ServiceSpec job_service(const stack::Stack& stack, const stack::Job& job, const std::string& image, int run,
                                const std::vector<std::string>& args) {
    engine::ServiceSpec spec;
    spec.name = job_service_name(stack, job.name, run);
    spec.labels = stack_labels(stack);
    spec.labels[label::role] = label::role_job;
    spec.labels[label::job] = job.name;
    spec.labels[label::run] = std::to_string(run);
    // Not the stack's label: the engine target's commands would take the
    // task's container for a container of the stack.
    spec.container_labels = {{label::job, job.name}, {label::run, std::to_string(run)}};
    spec.image = image;
    spec.env = job.env;
    spec.command = args.empty() ? job.command : args;
    spec.mounts = mounts_of(job.volumes);
    spec.networks = {stack.network};
    spec.replicas = 1;
    spec.job = true;
    // Run to completion once: a failed run is the user's to see, not to repeat.
    spec.restart_condition = "none";
    spec.cpus = job.resources.cpus;
    spec.memory_bytes = job.resources.memory_bytes;
    return spec;
}

std::vector<std::string> local_only_images(const stack::Stack& stack, int nodes) {
    std::vector<std::string> problems;
    if (nodes <= 1) return problems;
    const auto check = [&](const std::string& what, const std::string& image) {
        if (util::registry_of(image)) return;
        problems.push_back(fmt::format(
            "{}: image {} names no registry, and this swarm has {} nodes: the others cannot get it. Give it a "
            "registry's name (e.g. registry.example:5000/{}) and run `mldeploy push` first",
            what, image, nodes, image));
    };
    for (const auto& s : stack.services) check("service " + s.name, s.image);
    for (const auto& j : stack.jobs) check("job " + j.name, j.image);
    check("the balancer", stack.balancer.image);
    return problems;
}

}  // namespace mldeploy::plan::swarm
