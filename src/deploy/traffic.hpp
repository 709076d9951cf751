// `mldeploy traffic`'s engine part: each backend service's figures over a recent
// window, read from the balancer's access log through the engine's log API
// (the same log [metrics]' controller follows, so no [metrics] is needed), and
// a live split put into the running balancer with a graceful reload.
#pragma once

#include "deploy/executor.hpp"
#include "engine/engine.hpp"
#include "metrics/aggregate.hpp"
#include "plan/traffic.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <map>
#include <string>

namespace mldeploy::deploy {

struct TrafficWindow {
    double seconds = 0;  // the window's length
    // Per backend service, all its replicas' tries together; a service that
    // answered nothing in the window has no entry.
    std::map<std::string, metrics::WindowStats> services;
};

// The balancer's access log of the last `seconds`, as of `now` (unix time).
// Throws DeployError when the stack has no running balancer.
TrafficWindow measure_traffic(engine::Engine& engine, const stack::Stack& stack, double seconds, double now);

// Gives the running balancer `stack`'s routes (its live splits changed) with
// the replicas as they run: nginx reloads gracefully, no request fails, and
// its stack.json keeps the split. Containers are left as they are.
void apply_routes(engine::Engine& engine, const stack::Stack& stack, util::Output& out, Collaborators with = {});

// For a command that deploys `stack` from its file (up, scale): the live splits
// the balancer keeps, carried into `stack` for the routes the file left as they
// were (plan::carry_live_splits); nothing when the stack has no balancer yet.
plan::CarriedSplits keep_live_splits(engine::Engine& engine, stack::Stack& stack);

}  // namespace mldeploy::deploy
