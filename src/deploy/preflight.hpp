// What the engine's kind rules out, checked before anything is created: a
// rootless engine cannot publish a privileged port, and hides client addresses.
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

namespace mldeploy::deploy {

// Throws DeployError for what cannot work on this engine; warns for what works
// differently than the stack file expects.
void check_engine_can_run(const engine::Engine& engine, const stack::Stack& stack, util::Output& out);

}  // namespace mldeploy::deploy
