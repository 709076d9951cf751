#include "plan/specs.hpp"

#include "plan/gpus.hpp"
#include "plan/labels.hpp"
#include "render/nginx.hpp"
#include "util/hash.hpp"

#include <nlohmann/json.hpp>

namespace mldeploy::plan {

std::string replica_name(const stack::Stack& stack, const std::string& service, int replica) {
    return stack.name + "-" + service + "-" + std::to_string(replica);
}

std::string balancer_name(const stack::Stack& stack) { return stack.name + "-balancer"; }

engine::Labels stack_labels(const stack::Stack& stack) { return {{label::stack, stack.name}}; }

std::string config_hash_of(const engine::ContainerSpec& spec, const std::string& image_id, int service_port) {
    // Only what needs a new container: the name and mldeploy's labels do not.
    nlohmann::json j;
    j["service_port"] = service_port;
    j["image"] = spec.image;
    j["image_id"] = image_id;
    j["env"] = spec.env;
    j["command"] = spec.command;
    j["network"] = spec.network;
    j["restart"] = spec.restart_policy;
    j["cpus"] = spec.cpus ? nlohmann::json(*spec.cpus) : nlohmann::json();
    j["memory"] = spec.memory_bytes ? nlohmann::json(*spec.memory_bytes) : nlohmann::json();
    j["gpus"] = spec.gpus ? nlohmann::json(*spec.gpus) : nlohmann::json();
    auto& ports = j["ports"] = nlohmann::json::array();
    for (const auto& p : spec.ports) ports.push_back({p.host_ip, p.host_port, p.container_port, p.protocol});
    auto& mounts = j["mounts"] = nlohmann::json::array();
    for (const auto& m : spec.mounts) mounts.push_back({m.source, m.target, m.options, m.is_bind});
    // Only when set, so that the hashes of specs without one stay what they were.
    if (spec.stop_signal) j["stop_signal"] = *spec.stop_signal;
    return util::fnv1a_hex(j.dump());
}

std::vector<engine::Mount> mounts_of(const std::vector<stack::Volume>& volumes) {
    std::vector<engine::Mount> mounts;
    for (const auto& v : volumes) {
        engine::Mount m{v.source, v.target, {}, v.is_bind};
        if (!v.options.empty()) m.options.push_back(v.options);
        mounts.push_back(std::move(m));
    }
    return mounts;
}

void set_resources(engine::ContainerSpec& spec, const stack::Resources& resources) {
    spec.cpus = resources.cpus;
    spec.memory_bytes = resources.memory_bytes;
    spec.gpus = resources.gpus;
}

engine::ContainerSpec replica_spec(const stack::Stack& stack, const stack::Service& service, int replica,
                                   const std::string& image_id, const engine::GpuInventory* host_gpus) {
    engine::ContainerSpec spec;
    spec.name = replica_name(stack, service.name, replica);
    spec.image = service.image;
    spec.env = service.env;
    spec.command = service.command;
    spec.network = stack.network;
    spec.network_aliases = {service.name};
    spec.restart_policy = service.restart;
    set_resources(spec, service.resources);
    spec.mounts = mounts_of(service.volumes);
    spec.labels = stack_labels(stack);
    spec.labels[label::role] = label::role_model;
    spec.labels[label::service] = service.name;
    spec.labels[label::replica] = std::to_string(replica);
    spec.labels[label::port] = std::to_string(service.port);
    if (service.health) spec.labels[label::health_path] = service.health->path;
    spec.labels[label::config_hash] = config_hash_of(spec, image_id, service.port);
    const auto count = gpu_count(service.resources);
    if (count && host_gpus != nullptr && !host_gpus->devices.empty()) {
        const auto mine = gpus_of_replica(host_gpus->devices, *count, replica);
        spec.gpus.reset();
        spec.devices.insert(spec.devices.end(), mine.begin(), mine.end());
        spec.labels[label::gpus] = gpus_label(mine);
    } else if (service.resources.gpus) {
        spec.labels[label::gpus] = *service.resources.gpus;  // "all", or a count the engine resolves
    }
    return spec;
}

engine::ContainerSpec balancer_spec(const stack::Stack& stack, const std::string& image_id) {
    engine::ContainerSpec spec;
    spec.name = balancer_name(stack);
    spec.image = stack.balancer.image;
    // The image's own configuration is ignored: mldeploy supplies all of it.
    spec.command = {"nginx", "-c", render::kBalancerConfigPath, "-g", "daemon off;"};
    spec.network = stack.network;
    spec.restart_policy = "always";
    spec.ports.push_back({stack.balancer.host_ip, stack.balancer.port, render::kBalancerListenPort, "tcp"});
    spec.stop_timeout_s = 5;
    // nginx's graceful quit: the engine's own stop then lets requests in flight end.
    spec.stop_signal = "SIGQUIT";
    spec.labels = stack_labels(stack);
    spec.labels[label::role] = label::role_balancer;
    spec.labels[label::port] = std::to_string(stack.balancer.port);
    spec.labels[label::config_hash] = config_hash_of(spec, image_id);
    return spec;
}

}  // namespace mldeploy::plan
