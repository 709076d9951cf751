// mldeploy build [SERVICE]: build the images of the services that have a build.
#include "cmd/commands.hpp"
#include "deploy/images.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

namespace mldeploy::cmd {
namespace {

int run_build(const GlobalOptions& g, const std::string& service) {
    const auto stack = load_stack(g);
    if (!service.empty()) resolve_service(stack, service);
    auto engine = connect_engine(g);
    int built = 0;
    std::map<std::string, std::pair<std::string, std::string>> built_by;  // build_key -> {service, image id}
    for (const auto& s : stack.services) {
        if (!service.empty() && s.name != service) continue;
        if (!s.build) {
            if (!service.empty())
                throw UsageError(fmt::format("service '{}' has no build: it runs image {}", s.name, s.image));
            continue;
        }
        // The same build as an earlier service's: one build, a second name.
        if (auto same = built_by.find(deploy::build_key(*s.build)); same != built_by.end()) {
            const auto& [first, first_id] = same->second;
            if (s.image != stack.find_service(first)->image) engine->tag_image(first_id, s.image);
            output().result(fmt::format("{} {} (the build of service {})", s.image, first_id.substr(0, 12), first));
            continue;
        }
        // Always a real build, unlike `up`: the build hash cannot see a changed
        // base image (FROM), so this is the way to pick one up.
        const auto id = deploy::build_service_image(*engine, s, output());
        built_by.emplace(deploy::build_key(*s.build), std::make_pair(s.name, id));
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
