// mldeploy restart [SERVICE]: replace every replica of a service (of every model
// service when none is named) with a fresh container, one at a time, exactly as
// a rolling update does: health-gated, drained, rolled back when a new replica
// never gets ready. It restarts what is deployed, as Compose's restart does: the
// configuration the balancer keeps, not an edited stack file.
#include "cmd/commands.hpp"
#include "deploy/session.hpp"
#include "deploy/stack_state.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::cmd {
namespace {

struct RestartOptions {
    std::string service;
    bool dry_run = false;
    int drain_s = -1;  // -1: the service's drain budget
};

int run_restart(const GlobalOptions& g, const RestartOptions& o) {
    auto engine = connect_engine(g);
    const auto name = resolve_stack_name(g, *engine);
    require_deployed(*engine, name);
    const auto deployed = deploy::load_deployed_stack(*engine, name);
    if (!deployed)
        throw UsageError(fmt::format(
            "stack '{}' is not fully deployed (it has no balancer holding its configuration); run `mldeploy up`",
            name));
    const auto& stack = *deployed;
    if (!o.service.empty()) resolve_service(stack, o.service);  // an unknown one: did you mean ...
    auto& out = output();

    // The replicas there are now, as scale keeps them; only the named services roll.
    deploy::SessionOptions options;
    options.counts_only = true;
    if (o.drain_s >= 0) options.drain = std::chrono::seconds(o.drain_s);
    const auto observed = deploy::observe_stack(*engine, stack);
    std::vector<std::string> restarted;
    for (const auto& s : stack.services) {
        int running = 0;
        for (const auto& c : observed.containers)
            if (c.service == s.name && c.role == "model") running = std::max(running, c.replica);
        options.replica_counts[s.name] = running;
        if (!o.service.empty() && s.name != o.service) continue;
        options.restart.insert(s.name);
        if (running > 0) restarted.push_back(s.name);
    }
    if (restarted.empty()) {
        out.result(o.service.empty() ? fmt::format("stack {} has no replicas to restart", name)
                                     : fmt::format("service {} has no replicas to restart", o.service));
        return 0;
    }

    deploy::Session session(*engine, stack, out, options);
    const auto plan = session.plan();
    if (o.dry_run) {
        for (const auto& line : session.describe(plan)) out.result(line);
        return 0;
    }
    out.step(fmt::format("restarting {} of stack {}, one replica at a time", fmt::join(restarted, ", "), name));
    session.apply(plan);
    out.result(fmt::format("restarted {}", fmt::join(restarted, ", ")));
    return 0;
}

}  // namespace

Command restart_command() {
    return {"restart", "Replace every replica with a fresh container, one at a time, without dropping a request",
            [](CLI::App& app) -> Runner {
                auto o = std::make_shared<RestartOptions>();
                app.add_option("SERVICE", o->service, "Only this service (default: every model service)");
                app.add_flag("--dry-run", o->dry_run, "Print the plan and change nothing");
                app.add_option("--drain", o->drain_s,
                               "Seconds an old replica gets to finish its requests in flight (default: the "
                               "service's `drain`, else the balancer's `timeout`)")
                    ->check(CLI::Range(0, 86400));
                return [o](const GlobalOptions& g) { return run_restart(g, *o); };
            },
            "mldeploy restart recommender", uses::file | uses::stack | uses::host};
}

}  // namespace mldeploy::cmd
