// An engine error that means "someone changed the stack under this run": a
// container this run saw a moment ago is gone (two `up` at once, a `down`
// meanwhile). Told as such, with what to do, instead of a bare 404.
#pragma once

#include "deploy/errors.hpp"
#include "engine/engine.hpp"

#include <optional>
#include <string>

namespace mldeploy::deploy {

// The error to report instead of `e`, or nullopt when `e` is something else
// (an image that is missing is not a container that went away).
std::optional<DeployError> container_gone_away(const engine::EngineError& e, const std::string& stack,
                                               const std::string& command);

}  // namespace mldeploy::deploy
