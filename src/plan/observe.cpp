#include "plan/observe.hpp"

#include "plan/labels.hpp"

#include <charconv>

namespace mldeploy::plan {
namespace {

std::string label_or_empty(const engine::Labels& labels, const char* key) {
    auto it = labels.find(key);
    return it == labels.end() ? std::string{} : it->second;
}

int replica_number(const engine::Labels& labels) {
    const auto text = label_or_empty(labels, label::replica);
    int n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc{} && ptr == text.data() + text.size() ? n : 0;
}

}  // namespace

ObservedContainer observe_container(const engine::ContainerSummary& summary) {
    ObservedContainer c;
    c.id = summary.id;
    c.name = summary.name;
    c.role = label_or_empty(summary.labels, label::role);
    c.service = label_or_empty(summary.labels, label::service);
    c.replica = replica_number(summary.labels);
    c.config_hash = label_or_empty(summary.labels, label::config_hash);
    c.state = summary.state;
    const auto port = label_or_empty(summary.labels, label::port);
    std::from_chars(port.data(), port.data() + port.size(), c.port);
    return c;
}

Observed observe(const std::vector<engine::ContainerSummary>& containers, bool network_exists) {
    Observed observed;
    observed.network_exists = network_exists;
    for (const auto& c : containers) {
        // Jobs' containers are `mldeploy run`'s, and the controller has its own
        // step (deploy/controller.hpp): the replica planner leaves them alone.
        const auto role = c.labels.find(label::role);
        if (role != c.labels.end() && (role->second == label::role_job || role->second == label::role_controller))
            continue;
        observed.containers.push_back(observe_container(c));
    }
    return observed;
}

}  // namespace mldeploy::plan
