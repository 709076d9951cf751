// Removing a stack: everything labelled with its name.
#pragma once

#include "engine/engine.hpp"
#include "util/output.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace mldeploy::deploy {

// Removes the stack's containers (the balancer first, so no request reaches a
// replica that is going; then the replicas in parallel) and networks. An `up`
// still running may create something after a pass has listed the stack, so it
// looks again until a pass finds nothing. Returns how many objects went.
// `drain`: how long a running balancer may take to let its requests in flight
// end (it stops accepting at once); 0 removes it straight away.
std::size_t remove_stack(engine::Engine& engine, const std::string& stack_name, util::Output& out,
                         std::chrono::milliseconds drain = std::chrono::milliseconds(0));

}  // namespace mldeploy::deploy
