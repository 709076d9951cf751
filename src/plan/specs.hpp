// What the engine should hold for a stack: container specs for each replica and
// the balancer, with their labels and config hashes. Pure functions.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"

#include <string>
#include <vector>

namespace mldeploy::plan {

std::string replica_name(const stack::Stack& stack, const std::string& service, int replica);
std::string balancer_name(const stack::Stack& stack);

// The replica's container; `image_id` (when known) goes into the config hash so
// that a rebuilt image rolls the replicas. With the host's GPUs given, a GPU
// count becomes the replica's own devices (plan/gpus.hpp) and the io.mldeploy.gpus
// label; the config hash holds the count, not the devices, so it is the same
// for every replica of a service.
engine::ContainerSpec replica_spec(const stack::Stack& stack, const stack::Service& service, int replica,
                                   const std::string& image_id, const engine::GpuInventory* host_gpus = nullptr);
engine::ContainerSpec balancer_spec(const stack::Stack& stack, const std::string& image_id);

// What a replica and a job container share: the engine's mounts of the
// volumes, and the resources (cpus, memory, GPUs) on the spec.
std::vector<engine::Mount> mounts_of(const std::vector<stack::Volume>& volumes);
void set_resources(engine::ContainerSpec& spec, const stack::Resources& resources);

// The hash a spec carries in its io.mldeploy.config-hash label. `service_port`:
// the port the model listens on (a change needs new containers).
std::string config_hash_of(const engine::ContainerSpec& spec, const std::string& image_id, int service_port = 0);

engine::Labels stack_labels(const stack::Stack& stack);

}  // namespace mldeploy::plan
