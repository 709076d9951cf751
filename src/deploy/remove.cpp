#include "deploy/remove.hpp"

#include "deploy/balancer.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <future>
#include <vector>

namespace mldeploy::deploy {
namespace {

bool is_balancer(const engine::ContainerSummary& c) {
    auto it = c.labels.find(plan::label::role);
    return it != c.labels.end() && it->second == plan::label::role_balancer;
}

// One pass; returns what it removed.
std::size_t remove_once(engine::Engine& engine, const engine::Labels& labels, util::Output& out) {
    const auto containers = engine.list_containers(labels);
    const auto networks = engine.list_networks(labels);
    for (const auto& c : containers)
        if (is_balancer(c)) {
            engine.remove_container(c.id);
            out.done("removed " + c.name);
        }
    std::vector<std::future<void>> removals;
    for (const auto& c : containers)
        if (!is_balancer(c))
            removals.push_back(std::async(std::launch::async, [&engine, &out, c] {
                engine.remove_container(c.id);
                out.done("removed " + c.name);
            }));
    for (auto& r : removals) r.get();
    for (const auto& n : networks) {
        engine.remove_network(n.name);
        out.done("removed network " + n.name);
    }
    return containers.size() + networks.size();
}

}  // namespace

std::size_t remove_stack(engine::Engine& engine, const std::string& stack_name, util::Output& out,
                         std::chrono::milliseconds drain) {
    const engine::Labels labels{{plan::label::stack, stack_name}};
    if (drain.count() > 0) {
        // The balancer stops accepting and lets its requests in flight end
        // before any replica they wait on goes.
        std::vector<std::future<void>> quits;
        for (const auto& c : engine.list_containers(labels))
            if (is_balancer(c) && c.state == "running") {
                out.note(fmt::format("draining {} (requests in flight may take up to {}s)", c.name,
                                     std::chrono::duration_cast<std::chrono::seconds>(drain).count()));
                quits.push_back(std::async(std::launch::async, [&engine, &out, c, drain] {
                    stop_balancer_gracefully(engine, c.id, drain, out);
                }));
            }
        for (auto& q : quits) q.get();
    }
    std::size_t removed = 0;
    for (int pass = 0; pass < 10; ++pass) {
        const auto n = remove_once(engine, labels, out);
        if (n == 0) break;
        removed += n;
    }
    return removed;
}

}  // namespace mldeploy::deploy
