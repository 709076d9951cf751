#include "plan/plan.hpp"

#include "plan/labels.hpp"
#include "plan/specs.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace mldeploy::plan {
namespace {

int desired_count(const stack::Service& service, const std::map<std::string, int>& overrides) {
    auto it = overrides.find(service.name);
    return it != overrides.end() ? it->second : service.replicas;
}

// An autoscaled service that runs keeps its count (within [min, max]): the
// autoscaler set it, and a new `up` must not undo that. `replicas` is only
// where a first `up` starts.
std::map<std::string, int> with_autoscaled_counts(const stack::Stack& stack, const Observed& observed,
                                                  std::map<std::string, int> counts) {
    for (const auto& service : stack.services) {
        if (!service.autoscale || counts.contains(service.name)) continue;
        int running = 0;
        for (const auto& c : observed.containers)
            if (c.role == label::role_model && c.service == service.name && c.running())
                running = std::max(running, c.replica);
        if (running > 0) counts[service.name] = std::clamp(running, service.autoscale->min, service.autoscale->max);
    }
    return counts;
}

// Of several containers claiming one replica slot (a roll that was cut short),
// keep the best: running with the desired config, canonical name first. In a
// canary cut short (`up` killed while it judged) the new version was never
// judged: the canonical old replica is kept, and the canary runs again.
const ObservedContainer* pick_keeper(const std::vector<const ObservedContainer*>& claimants,
                                     const std::string& wanted_hash, const std::string& canonical_name,
                                     bool canary = false) {
    auto score = [&](const ObservedContainer* c) {
        const int config = c->config_hash == wanted_hash ? 1 : 0;
        const int canonical = c->name == canonical_name ? 1 : 0;
        return (c->running() ? 4 : 0) + (canary ? canonical * 2 + config : config * 2 + canonical);
    };
    return *std::max_element(claimants.begin(), claimants.end(), [&](auto* a, auto* b) { return score(a) < score(b); });
}

}  // namespace

Plan make_plan(const stack::Stack& stack, const Observed& observed, const DesiredHashes& desired,
               const std::map<std::string, int>& replica_counts) {
    return make_plan(stack, observed, desired, PlanOptions{replica_counts, false, std::nullopt, {}});
}

Plan make_plan(const stack::Stack& stack, const Observed& observed, const DesiredHashes& desired,
               const PlanOptions& options) {
    const auto replica_counts = with_autoscaled_counts(stack, observed, options.replica_counts);
    const auto drain_of = [&](const stack::Service* service) {
        if (options.drain) return *options.drain;
        return service ? stack.drain_of(*service) : stack.balancer.timeout;
    };
    Plan plan;
    plan.create_network = !observed.network_exists;

    std::vector<const ObservedContainer*> balancers;
    for (const auto& c : observed.containers) {
        if (c.role == label::role_balancer) {
            balancers.push_back(&c);
            continue;
        }
        const auto* service = stack.find_service(c.service);
        if (c.role != label::role_model || service == nullptr || c.replica < 1 ||
            c.replica > desired_count(*service, replica_counts)) {
            plan.remove.push_back(c);
            if (c.running()) plan.remove_drain = std::max(plan.remove_drain, drain_of(service));
        }
    }

    for (const auto& service : stack.services) {
        const int count = desired_count(service, replica_counts);
        const auto& wanted_hash = desired.service.at(service.name);
        for (int n = 1; n <= count; ++n) {
            std::vector<const ObservedContainer*> claimants;
            for (const auto& c : observed.containers)
                if (c.role == label::role_model && c.service == service.name && c.replica == n) claimants.push_back(&c);
            if (claimants.empty()) {
                plan.start.push_back({service.name, n});
                continue;
            }
            const auto* keeper =
                pick_keeper(claimants, wanted_hash, replica_name(stack, service.name, n), service.canary());
            for (const auto* c : claimants)
                if (c != keeper) {
                    plan.remove.push_back(*c);
                    if (c->running()) plan.remove_drain = std::max(plan.remove_drain, drain_of(&service));
                }
            const bool changed = !keeper->running() || (keeper->config_hash != wanted_hash && !options.counts_only);
            const bool restart = options.restart.contains(service.name);
            if (changed || restart)
                plan.replace.push_back({{service.name, n}, *keeper, drain_of(&service), restart && !changed});
        }
    }

    if (balancers.empty()) {
        plan.balancer = BalancerAction::create;
    } else {
        const auto* keeper = pick_keeper(balancers, desired.balancer, balancer_name(stack));
        for (const auto* b : balancers)
            if (b != keeper) plan.remove.push_back(*b);
        if (keeper->config_hash != desired.balancer || !keeper->running()) {
            plan.balancer = BalancerAction::recreate;
            plan.old_balancer = *keeper;
        }
    }
    return plan;
}

std::set<std::string> canary_services(const stack::Stack& stack, const Plan& plan) {
    std::map<std::string, bool> fits_all;
    for (const auto& r : plan.replace) {
        const auto* service = stack.find_service(r.slot.service);
        const bool fits = service != nullptr && service->canary() && r.old.running() && !r.restart;
        auto [it, fresh] = fits_all.try_emplace(r.slot.service, fits);
        if (!fresh) it->second = it->second && fits;
    }
    std::set<std::string> names;
    for (const auto& [name, fits] : fits_all)
        if (fits) names.insert(name);
    return names;
}

std::vector<std::string> describe(const stack::Stack& stack, const Plan& plan) {
    std::vector<std::string> lines;
    const auto canaries = canary_services(stack, plan);
    if (plan.create_network) lines.push_back(fmt::format("create network {}", stack.network));
    for (const auto& s : plan.start)
        lines.push_back(
            fmt::format("start replica {}{}", replica_name(stack, s.service, s.replica),
                        canaries.contains(s.service) ? " (with the new version, once its canary passed)" : ""));
    for (const auto& r : plan.replace)
        lines.push_back(fmt::format(
            "replace replica {} ({})", replica_name(stack, r.slot.service, r.slot.replica),
            !r.old.running() ? "not running: " + r.old.state
                             : fmt::format("{}; the old one drains up to {}", r.restart ? "restart" : "config changed",
                                           util::format_duration(r.drain))));
    for (const auto& name : canaries) {
        const auto& rollout = *stack.find_service(name)->rollout;
        lines.push_back(fmt::format(
            "canary of {}: the new version beside the old, steps {}% each watched {}, "
            "then the old replicas drain and go (rolled back past max_error_rate {:g}%{})",
            name, fmt::join(rollout.steps, "/"), util::format_duration(rollout.pause), rollout.max_error_rate * 100,
            rollout.max_p95 ? " or max_p95 " + util::format_duration(*rollout.max_p95) : std::string()));
    }
    for (const auto& c : plan.remove)
        lines.push_back(
            c.running() ? fmt::format("remove {} (drains up to {})", c.name, util::format_duration(plan.remove_drain))
                        : fmt::format("remove {}", c.name));
    if (plan.balancer == BalancerAction::create)
        lines.push_back(fmt::format("create balancer {} on port {}", balancer_name(stack), stack.balancer.port));
    if (plan.balancer == BalancerAction::recreate)
        lines.push_back(fmt::format("recreate balancer {} (its image or port changed, or it is not running)",
                                    balancer_name(stack)));
    if (lines.empty()) lines.push_back("no changes: the stack is up to date");
    return lines;
}

}  // namespace mldeploy::plan
