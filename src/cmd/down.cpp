// mldeploy down: remove everything the stack made; a second down is a no-op.
#include "cmd/commands.hpp"
#include "deploy/remove.hpp"

#include <fmt/format.h>


namespace mldeploy::cmd {
namespace {

int run_down(const GlobalOptions& g) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    auto& out = output();

    out.step(fmt::format("removing stack {}", name));
    const auto removed = deploy::remove_stack(*engine, name, out);
    out.result(removed == 0 ? fmt::format("stack {}: nothing to remove", name)
                            : fmt::format("stack {} removed", name));
    return 0;
}

}  // namespace

Command down_command() {
    return {"down", "Remove every container and network of the stack", [](CLI::App&) -> Runner {
                return [](const GlobalOptions& g) { return run_down(g); };
            },
            "mldeploy down -s movies", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
