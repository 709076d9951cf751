// `mldeploy agent`: what runs inside the stack's controller container
// (deploy/controller.hpp). It follows the balancer's access log through the
// engine's log API, from the log's start, so that its counts are every request
// the balancer has logged (exact, also after the agent itself restarts), keeps
// which address is which replica from the engine's container list, and serves
// the aggregate as Prometheus text (/metrics) and as JSON for `top` (/top.json).
// With --autoscale it also scales the services that have [services.X.autoscale]
// on that aggregate's demand (deploy/autoscaler.hpp).
#pragma once

#include "engine/engine.hpp"
#include "metrics/exposition.hpp"

#include <string>

namespace mldeploy::deploy {

struct AgentOptions {
    std::string stack;
    std::string listen_host = "0.0.0.0";
    int port = 9464;
    double window_seconds = 10;
    bool autoscale = false;  // run the autoscaler (deploy/autoscaler.hpp) too
};

// Runs until the process ends.
[[noreturn]] void run_agent(engine::Engine& engine, const AgentOptions& options);

// nginx's stub_status page: "Reading: 0 Writing: 3 Waiting: 1" -> 3 less the
// status request itself; nullopt when the page is not that.
std::optional<long> requests_in_progress(std::string_view stub_status);

}  // namespace mldeploy::deploy
