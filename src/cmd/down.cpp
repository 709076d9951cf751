// mldeploy down: remove everything the stack made; a second down is a no-op.
#include "cmd/commands.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <future>

namespace mldeploy::cmd {
namespace {

int run_down(const GlobalOptions& g) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto& out = output();
    const engine::Labels labels{{plan::label::stack, name}};

    const auto containers = engine->list_containers(labels);
    const auto networks = engine->list_networks(labels);
    if (containers.empty() && networks.empty()) {
        out.result(fmt::format("stack {}: nothing to remove", name));
        return 0;
    }
    out.step(fmt::format("removing stack {} ({} container(s), {} network(s))", name, containers.size(),
                         networks.size()));
    // The balancer goes first, so no request reaches a replica that is going.
    for (const auto& c : containers)
        if (c.labels.count(plan::label::role) && c.labels.at(plan::label::role) == plan::label::role_balancer) {
            engine->remove_container(c.id);
            out.done("removed " + c.name);
        }
    std::vector<std::future<void>> removals;
    for (const auto& c : containers)
        if (!c.labels.count(plan::label::role) || c.labels.at(plan::label::role) != plan::label::role_balancer)
            removals.push_back(std::async(std::launch::async, [&engine, &out, c] {
                engine->remove_container(c.id);
                out.done("removed " + c.name);
            }));
    for (auto& r : removals) r.get();
    for (const auto& n : networks) {
        engine->remove_network(n.name);
        out.done("removed network " + n.name);
    }
    out.result(fmt::format("stack {} removed", name));
    return 0;
}

}  // namespace

Command down_command() {
    return {"down", "Remove every container and network of the stack", [](CLI::App&) -> Runner {
                return [](const GlobalOptions& g) { return run_down(g); };
            }};
}

}  // namespace mldeploy::cmd
