// mldeploy up [STACK_FILE]: build what changed, create the network, start the replicas and
// the balancer, wait until healthy, print the endpoint.
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/controller.hpp"
#include "deploy/gone_away.hpp"
#include "deploy/preflight.hpp"
#include "deploy/remove.hpp"
#include "deploy/session.hpp"
#include "deploy/traffic.hpp"
#include "stack/load.hpp"

#include <fmt/format.h>

namespace mldeploy::cmd {
namespace {

struct UpOptions {
    std::string file;
    bool dry_run = false;
    bool build = false;  // build every service that has a build, even when its image is up to date
    int drain_s = -1;    // -1: each service's drain budget (its `drain`, else the balancer's timeout)
    std::string target;  // --target: overrides the stack file's `target`
};

int run_up(const GlobalOptions& g, const UpOptions& o) {
    auto stack = load_stack(g, o.file);
    if (!o.target.empty() && o.target != stack.target) {
        stack.target = o.target;
        // The loader judged the file's target; the flag's is judged here, the same way.
        auto problems = stack::target_problems(stack);
        for (auto& p : problems) p.message += fmt::format(" (this `up` has --target {})", o.target);
        if (!problems.empty()) throw stack::StackError(std::move(problems));
    }
    if (stack.target == "swarm")
        return swarm_up(g, stack,
                        {o.dry_run, o.build ? deploy::BuildPolicy::always : deploy::BuildPolicy::when_changed});
    auto engine = connect_engine(g);
    auto& out = output();

    // A live split set by `mldeploy traffic` (kept by the balancer) stays while
    // the file leaves its route as it was; a changed route takes the file's.
    const auto carried = deploy::keep_live_splits(*engine, stack);
    for (const auto& line : carried.kept) out.note(line);
    for (const auto& line : carried.replaced) out.step(line);

    deploy::SessionOptions options;
    options.build = o.build ? deploy::BuildPolicy::always : deploy::BuildPolicy::when_changed;
    if (o.drain_s >= 0) options.drain = std::chrono::seconds(o.drain_s);
    deploy::Session session(*engine, stack, out, options);
    const auto plan = session.plan();
    if (o.dry_run) {
        for (const auto& line : session.describe(plan)) out.result(line);
        return 0;
    }

    out.step(fmt::format("deploying stack {} from {}", stack.name, stack.file.string()));
    deploy::check_engine_can_run(*engine, stack, out);
    // A first deploy that fails leaves nothing half-made; a stack that was
    // already there keeps what serves, and the next `up` finishes the job.
    const bool fresh = plan.observed.containers.empty() && !plan.observed.network_exists;
    try {
        session.apply(plan);
        // [metrics], autoscale: the controller that measures and scales, made or repaired (or removed without them).
        deploy::sync_controller(*engine, stack, out);
    } catch (...) {
        if (fresh) {
            out.warn(fmt::format("the first deploy of {} failed: removing what it made", stack.name));
            try {
                deploy::remove_stack(*engine, stack.name, out);
            } catch (const std::exception& e) {
                out.warn(fmt::format("could not remove everything: {}", e.what()));
            }
        }
        try {
            throw;
        } catch (const engine::EngineError& e) {
            if (auto gone = deploy::container_gone_away(e, stack.name, "up")) throw *gone;
            throw;
        }
    }

    const auto host = stack.balancer.host_ip == "0.0.0.0" ? std::string("localhost") : stack.balancer.host_ip;
    const auto url =
        fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, stack.balancer.port);
    out.result(fmt::format("stack {} is up: {}", stack.name, url));
    // A line that answers 2xx: the first route, at its service's health path
    // when the route is the root (the model's own paths are unknown here).
    const auto& first = stack.balancer.routes.front();
    const auto* service = stack.find_service(first.service);
    const bool has_replicas = service != nullptr && service->replicas > 0;
    auto path = first.path;
    if (path == "/" && service != nullptr && service->health) path = service->health->path;
    if (has_replicas) out.result(fmt::format("try: curl {}{}", url, path));
    return 0;
}

}  // namespace

Command up_command() {
    return {"up", "Build, start the replicas and the balancer, wait until healthy",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<UpOptions>();
                app.add_option("STACK_FILE", o->file, "The stack file (default: -f, or ./stack.toml)");
                app.add_flag("--dry-run", o->dry_run, "Print the plan and change nothing");
                app.add_flag("--build", o->build,
                             "Build every service that has a build, also when its image is up to date "
                             "(e.g. after its base image changed)");
                app.add_option("--drain", o->drain_s,
                               "Seconds a replaced replica gets to finish its requests in flight (default: the "
                               "service's `drain`, else the balancer's `timeout`)")
                    ->check(CLI::Range(0, 86400));
                app.add_option("--target", o->target,
                               "Where the stack runs: engine (containers on one engine) or swarm (services on a "
                               "Docker Swarm whose manager the socket is); default: the stack file's `target`")
                    ->check(CLI::IsMember({"engine", "swarm"}));
                return [o](const GlobalOptions& g) { return run_up(g, *o); };
            },
            "mldeploy up stacks/movies.toml", uses::file | uses::host};
}

}  // namespace mldeploy::cmd
