// mldeploy down: remove everything the stack made; a second down is a no-op.
#include "cmd/commands.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <future>

namespace mldeploy::cmd {
namespace {

bool is_balancer(const engine::ContainerSummary& c) {
    auto it = c.labels.find(plan::label::role);
    return it != c.labels.end() && it->second == plan::label::role_balancer;
}

// One pass: the balancer first, so no request reaches a replica that is going,
// then the replicas in parallel, then the networks. Returns what it removed.
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

int run_down(const GlobalOptions& g) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto& out = output();
    const engine::Labels labels{{plan::label::stack, name}};

    out.step(fmt::format("removing stack {}", name));
    std::size_t removed = 0;
    // An `up` still running may create something after a pass has listed the
    // stack: look again until a pass finds nothing.
    for (int pass = 0; pass < 10; ++pass) {
        const auto n = remove_once(*engine, labels, out);
        if (n == 0) break;
        removed += n;
    }
    out.result(removed == 0 ? fmt::format("stack {}: nothing to remove", name)
                            : fmt::format("stack {} removed", name));
    return 0;
}

}  // namespace

Command down_command() {
    return {"down", "Remove every container and network of the stack", [](CLI::App&) -> Runner {
                return [](const GlobalOptions& g) { return run_down(g); };
            }};
}

}  // namespace mldeploy::cmd
