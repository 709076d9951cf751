// One service to a new count, the others kept as they run: what `mldeploy
// scale` and the autoscaler (in the controller) both do. Scale-up is
// health-gated (a replica takes requests once healthy) and scale-down drains
// (a leaving replica gets its requests in flight finished first), so no
// request fails. Only counts change: config changes are `up`'s.
#pragma once

#include "deploy/executor.hpp"
#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace mldeploy::deploy {

// The replicas of each service as they run now (the highest replica number of
// its model containers), with `service` at `replicas`.
std::map<std::string, int> counts_with(engine::Engine& engine, const stack::Stack& stack, const std::string& service,
                                       int replicas);

// Plans and applies `service` at `replicas`; `drain` overrides the service's budget.
void scale_service(engine::Engine& engine, const stack::Stack& stack, const std::string& service, int replicas,
                   util::Output& out, std::optional<std::chrono::milliseconds> drain = std::nullopt,
                   Collaborators with = {});

}  // namespace mldeploy::deploy
