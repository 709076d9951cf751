#include "deploy/traffic.hpp"

#include "deploy/errors.hpp"
#include "deploy/session.hpp"
#include "deploy/stack_state.hpp"
#include "metrics/access_log.hpp"
#include "plan/labels.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mldeploy::deploy {
namespace {

// The balancer that takes traffic: the running one, its canonical name first
// (during a balancer's replacement two may run for a moment).
std::string running_balancer(engine::Engine& engine, const std::string& stack) {
    const auto list =
        engine.list_containers({{plan::label::stack, stack}, {plan::label::role, plan::label::role_balancer}});
    std::string id;
    for (const auto& c : list) {
        if (c.state != "running") continue;
        if (id.empty() || c.name == stack + "-balancer") id = c.id;
    }
    if (id.empty()) throw DeployError(fmt::format("stack {} has no running balancer; `mldeploy up` starts it", stack));
    return id;
}

}  // namespace

TrafficWindow measure_traffic(engine::Engine& engine, const stack::Stack& stack, double seconds, double now) {
    const auto id = running_balancer(engine, stack.name);
    metrics::Aggregate aggregate(seconds);
    const metrics::AddressBook no_names;  // per service: the replicas need no names
    // nginx writes a line when the request ends and flushes its buffer each
    // second: ask the engine for a little more, the window is cut by $msec.
    engine::Engine::LogOptions options;
    options.since = static_cast<std::int64_t>(std::floor(now - seconds)) - 2;
    engine.logs(id, options, [&](engine::LogStream stream, std::string_view line) {
        if (stream == engine::LogStream::stdout_) aggregate.add_line(line, no_names);
    });
    return TrafficWindow{seconds, aggregate.service_window(now)};
}

void apply_routes(engine::Engine& engine, const stack::Stack& stack, util::Output& out, Collaborators with) {
    SessionOptions options;
    options.counts_only = true;
    options.routes_only = true;
    // Every service at the count it runs now, as `scale` keeps the others.
    const auto observed = observe_stack(engine, stack);
    for (const auto& s : stack.services) {
        int running = 0;
        for (const auto& c : observed.containers)
            if (c.service == s.name && c.role == plan::label::role_model) running = std::max(running, c.replica);
        options.replica_counts[s.name] = running;
    }
    Session session(engine, stack, out, options, with);
    session.apply(session.plan());
}

plan::CarriedSplits keep_live_splits(engine::Engine& engine, stack::Stack& stack) {
    if (const auto deployed = load_kept_stack(engine, stack.name)) return plan::carry_live_splits(stack, *deployed);
    return {};
}

}  // namespace mldeploy::deploy
