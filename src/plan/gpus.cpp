#include "plan/gpus.hpp"

#include <fmt/format.h>

#include <charconv>

namespace mldeploy::plan {

std::vector<std::string> gpus_of_replica(const std::vector<std::string>& devices, int count, int replica) {
    std::vector<std::string> mine;
    if (devices.empty() || count <= 0 || replica < 1) return mine;
    const auto size = static_cast<long long>(devices.size());
    for (int k = 0; k < count; ++k) {
        const long long index = (static_cast<long long>(replica - 1) * count + k) % size;
        mine.push_back(devices[static_cast<std::size_t>(index)]);
    }
    return mine;
}

std::optional<int> gpu_count(const stack::Resources& resources) {
    if (!resources.gpus || *resources.gpus == "all") return std::nullopt;
    int count = 0;
    const std::string& text = *resources.gpus;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc() || end != text.data() + text.size() || count <= 0) return std::nullopt;
    return count;
}

bool asks_for_gpus(const stack::Stack& stack) {
    for (const auto& service : stack.services)
        if (gpu_count(service.resources)) return true;
    return false;
}

std::vector<stack::Diagnostic> gpu_shortages(const stack::Stack& stack, const engine::GpuInventory& host,
                                             const std::map<std::string, int>& replica_counts) {
    std::vector<stack::Diagnostic> problems;
    const auto have = static_cast<long long>(host.devices.size());
    for (const auto& service : stack.services) {
        const auto count = gpu_count(service.resources);
        if (!count) continue;
        const auto it = replica_counts.find(service.name);
        // An autoscaled service may grow to its max: each of those replicas needs its own GPUs too.
        const bool at_max = it == replica_counts.end() && service.autoscale;
        const int replicas = it != replica_counts.end() ? it->second
                             : at_max                   ? service.autoscale->max
                                                        : service.replicas;
        const long long need = static_cast<long long>(*count) * replicas;
        if (replicas == 0 || need <= have) continue;
        if (service.resources.share_gpus && *count <= have) continue;  // replicas share, none gets one twice
        stack::SourcePos pos = service.resources.gpus_pos;
        if (pos.file.empty()) pos.file = stack.file.string();
        // need > have: with a GPU at all, need is at least 2 ("GPUs").
        const auto demand = fmt::format("service {}: {}{} replica{} x gpus = {} need {} GPU{}", service.name,
                                        at_max ? "autoscale max = " : "", replicas, replicas == 1 ? "" : "s", *count,
                                        need, need == 1 ? "" : "s");
        std::string message =
            have == 0
                ? fmt::format("{}; this host has none ({})", demand, host.source.empty() ? "no GPU found" : host.source)
                : fmt::format("{}; this host has {} ({}){}", demand, have, host.source,
                              *count <= have ? "; set share_gpus = true to let replicas share them" : "");
        problems.push_back({pos, std::move(message)});
    }
    return problems;
}

void check_gpus(const stack::Stack& stack, const engine::GpuInventory& host,
                const std::map<std::string, int>& replica_counts) {
    auto problems = gpu_shortages(stack, host, replica_counts);
    if (!problems.empty()) throw stack::StackError(std::move(problems));
}

std::string gpus_label(const std::vector<std::string>& devices) {
    std::string text;
    for (const auto& device : devices) {
        const auto eq = device.find('=');
        if (!text.empty()) text += ',';
        text += eq == std::string::npos ? device : device.substr(eq + 1);
    }
    return text;
}

}  // namespace mldeploy::plan
