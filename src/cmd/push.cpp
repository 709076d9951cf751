// mldeploy push [SERVICE...]: the stack's images to the registries their names point at.
#include "deploy/push.hpp"
#include "cmd/commands.hpp"
#include "engine/registry_auth.hpp"

#include <fmt/format.h>

namespace mldeploy::cmd {
namespace {

int run_push(const GlobalOptions& g, const std::vector<std::string>& services) {
    const auto stack = load_stack(g);
    std::vector<deploy::PushItem> items;
    try {
        items = deploy::plan_push(stack, services);
    } catch (const deploy::PushRefused& e) {
        throw UsageError(e.what());
    }
    const auto files = engine::registry_auth_files();
    auto engine = connect_engine(g);
    deploy::push_images(
        *engine, items, [&](const std::string& registry) { return engine::find_registry_auth(registry, files); },
        output());
    return 0;
}

}  // namespace

Command push_command() {
    return {"push",
            "Push the stack's images to the registries their names point at (credentials from auth.json or "
            "~/.docker/config.json)",
            [](CLI::App& app) -> Runner {
                auto services = std::make_shared<std::vector<std::string>>();
                app.add_option("SERVICE", *services, "Only these services (default: every service with a build)");
                return [services](const GlobalOptions& g) { return run_push(g, *services); };
            },
            "mldeploy push recommender -f stacks/movies.toml", uses::file | uses::host};
}

}  // namespace mldeploy::cmd
