// mldeploy scale [SERVICE] --replicas N: grow or shrink without dropping a request.
#include "deploy/scale.hpp"
#include "cmd/commands.hpp"
#include "cmd/swarm_target.hpp"
#include "deploy/stack_state.hpp"
#include "deploy/traffic.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::cmd {
namespace {

struct ScaleOptions {
    std::string service;
    int replicas = -1;
    int drain_s = -1;  // -1: the service's drain budget
};

// The stack file when there is one; else the stack as last deployed, which its
// balancer keeps (so `scale -s NAME` needs no file).
stack::Stack stack_to_scale(const GlobalOptions& g, engine::Engine& engine) {
    if (stack_file_path(g)) return load_stack(g);
    const auto name = resolve_stack_name(g, engine);
    if (auto deployed = deploy::load_deployed_stack(engine, name)) return *deployed;
    throw UsageError(
        fmt::format("stack '{}' is not fully deployed (it has no balancer holding its configuration); "
                    "run `mldeploy up` with its file, or give the file with -f",
                    name));
}

int run_scale(const GlobalOptions& g, const ScaleOptions& o) {
    auto engine = connect_engine(g);
    {
        const auto name = resolve_stack_name(g, *engine, IfNotDeployed::allow);
        if (auto swarm = stack_swarm(g, *engine, name)) {
            const auto service = stack_file_path(g) ? resolve_service(load_stack(g), o.service) : o.service;
            return swarm_scale(g, *swarm, name, service, o.replicas);
        }
    }
    auto stack = stack_to_scale(g, *engine);
    const auto service_name = resolve_service(stack, o.service);
    auto& out = output();
    // From the file: the balancer is rendered anew, with the live splits of
    // `mldeploy traffic` on the routes the file left as they were (as `up` does).
    if (stack_file_path(g)) {
        const auto carried = deploy::keep_live_splits(*engine, stack);
        for (const auto& line : carried.kept) out.note(line);
        for (const auto& line : carried.replaced) out.step(line);
    }

    // Scaling changes counts only; config changes are `up`'s job.
    std::optional<std::chrono::milliseconds> drain;
    if (o.drain_s >= 0) drain = std::chrono::seconds(o.drain_s);
    // With autoscale, the autoscaler wins after its delay: a count by hand
    // holds while demand agrees with it (docs/autoscaling.md).
    if (const auto* service = stack.find_service(service_name); service != nullptr && service->autoscale)
        out.warn(
            fmt::format("{} autoscales ({} to {} replicas): the controller changes this count again once "
                        "demand has asked for another for its scale_up_delay or scale_down_delay",
                        service_name, service->autoscale->min, service->autoscale->max));
    out.step(fmt::format("scaling {} to {} replica(s)", service_name, o.replicas));
    deploy::scale_service(*engine, stack, service_name, o.replicas, out, drain);
    out.result(fmt::format("{}: {} replica(s)", service_name, o.replicas));
    return 0;
}

}  // namespace

Command scale_command() {
    return {
        "scale", "Grow or shrink a service without dropping a request",
        [](CLI::App& app) -> Runner {
            auto o = std::make_shared<ScaleOptions>();
            app.add_option("SERVICE", o->service, "The service (may be left out when the stack has one)");
            app.add_option("--replicas,-r", o->replicas, "How many replicas")->required()->check(CLI::Range(0, 1000));
            app.add_option("--drain", o->drain_s,
                           "Seconds a leaving replica gets to finish its requests in flight (default: the "
                           "service's `drain`, else the balancer's `timeout`)")
                ->check(CLI::Range(0, 86400));
            return [o](const GlobalOptions& g) { return run_scale(g, *o); };
        },
        "mldeploy scale recommender --replicas 4", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
