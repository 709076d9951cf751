// One GPU per replica: `resources.gpus = N` gives replica r (from 1) the N
// devices after the first (r-1)*N of the host's GPUs, round robin. Decided by
// the replica's number alone, so a replica keeps its devices through rolling
// updates and scaling, with no state kept anywhere. The host's GPUs are a host
// fact (engine::GpuInventory) the planner is given, never reads itself.
#pragma once

#include "engine/gpus.hpp"
#include "stack/load.hpp"
#include "stack/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mldeploy::plan {

// The devices of replica `replica` (from 1) when each asks for `count`:
// devices[((replica-1)*count + k) mod size] for k < count. Empty for no devices.
std::vector<std::string> gpus_of_replica(const std::vector<std::string>& devices, int count, int replica);

// The count a service asks each replica for; nullopt for none and for "all".
std::optional<int> gpu_count(const stack::Resources& resources);

// Whether any service asks for a GPU count (then the host's GPUs are read).
bool asks_for_gpus(const stack::Stack& stack);

// One problem per service whose replicas ask for more GPUs than the host has
// (count x replicas > devices) without `share_gpus`: at the `gpus` key, with how
// many there are and where they were looked for. `replica_counts` overrides a
// service's `replicas` (scale).
std::vector<stack::Diagnostic> gpu_shortages(const stack::Stack& stack, const engine::GpuInventory& host,
                                             const std::map<std::string, int>& replica_counts = {});
// The same, thrown as one StackError (exit 2, nothing changed) when there is any.
void check_gpus(const stack::Stack& stack, const engine::GpuInventory& host,
                const std::map<std::string, int>& replica_counts = {});

// The value of the io.mldeploy.gpus label: the device names without their
// kind, comma-separated ("nvidia.com/gpu=0", "nvidia.com/gpu=1" -> "0,1").
std::string gpus_label(const std::vector<std::string>& devices);

}  // namespace mldeploy::plan
