// mldeploy build [SERVICE]: build the images of the services that have a build.
#include "cmd/commands.hpp"
#include "deploy/images.hpp"

#include <fmt/format.h>

namespace mldeploy::cmd {
namespace {

int run_build(const GlobalOptions& g, const std::string& service) {
    const auto stack = load_stack(g);
    if (!service.empty()) resolve_service(stack, service);
    auto engine = connect_engine(g);
    int built = 0;
    for (const auto& s : stack.services) {
        if (!service.empty() && s.name != service) continue;
        if (!s.build) {
            if (!service.empty())
                throw UsageError(fmt::format("service '{}' has no build: it runs image {}", s.name, s.image));
            continue;
        }
        // Always a real build, unlike `up`: the build hash cannot see a changed
        // base image (FROM), so this is the way to pick one up.
        const auto id = deploy::build_service_image(*engine, s, output());
        output().result(fmt::format("{} {}", s.image, id.substr(0, 12)));
        ++built;
    }
    if (built == 0) output().result("nothing to build: no service has a build");
    return 0;
}

}  // namespace

Command build_command() {
    return {"build", "Build the images of the stack's services",
            [](CLI::App& app) -> Runner {
                auto service = std::make_shared<std::string>();
                app.add_option("SERVICE", *service, "Only this service");
                return [service](const GlobalOptions& g) { return run_build(g, *service); };
            },
            "mldeploy build recommender -f stacks/movies.toml", uses::file | uses::host};
}

}  // namespace mldeploy::cmd
