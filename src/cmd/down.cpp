// mldeploy down: remove everything the stack made; a second down is a no-op.
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/remove.hpp"
#include "deploy/swarm_session.hpp"

#include <fmt/format.h>

namespace mldeploy::cmd {
namespace {

int run_down(const GlobalOptions& g, int drain_s) {
    auto engine = connect_engine(g);
    // Not deployed is not an error here: a second `down` is a no-op.
    const auto name = resolve_stack_name(g, *engine, IfNotDeployed::allow);
    auto& out = output();

    // Requests in flight end first: at most the balancer's timeout (from the
    // stack file when there is one), or --drain.
    std::chrono::milliseconds drain = std::chrono::seconds(drain_s);
    if (drain_s < 0) {
        drain = std::chrono::seconds(300);
        if (stack_file_path(g)) drain = load_stack(g).balancer.timeout;
    }
    out.step(fmt::format("removing stack {}", name));
    std::size_t removed = 0;
    if (auto swarm = stack_swarm(g, *engine, name)) {
        removed += deploy::remove_swarm_stack(*swarm, *swarm, name, out);
    }
    try {
        removed += deploy::remove_stack(*engine, name, out, drain);
    } catch (const engine::EngineError& e) {
        // The swarm's overlay network may still be listed while Swarm removes it.
        if (removed == 0 || e.engine_message().find("not found") == std::string::npos) throw;
    }
    out.result(removed == 0 ? fmt::format("stack {}: nothing to remove", name) : fmt::format("stack {} removed", name));
    return 0;
}

}  // namespace

Command down_command() {
    return {"down", "Remove every container and network of the stack",
            [](CLI::App& app) -> Runner {
                auto drain_s = std::make_shared<int>(-1);
                app.add_option("--drain", *drain_s,
                               "Seconds requests in flight get to end before the replicas go (default: the "
                               "balancer's `timeout`; 0: at once)")
                    ->check(CLI::Range(0, 86400));
                return [drain_s](const GlobalOptions& g) { return run_down(g, *drain_s); };
            },
            "mldeploy down -s movies", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
