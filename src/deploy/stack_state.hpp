// What the engine holds of a stack, read back: its containers and network (the
// planner's view), and the stack as it was last deployed (for commands given
// only -s, such as `scale -s NAME`).
#pragma once

#include "engine/engine.hpp"
#include "plan/plan.hpp"
#include "stack/model.hpp"

#include <optional>
#include <string>

namespace mldeploy::deploy {

// The engine's view of a stack: its containers (by label) and whether its network exists.
plan::Observed observe_stack(engine::Engine& engine, const stack::Stack& stack);

// Where the balancer keeps the resolved stack it was last given.
inline constexpr const char* kDeployedStackFile = "stack.json";

// The stack as last deployed, read from its balancer, with each service's env
// values read back from one of its replicas (the balancer keeps none); nullopt
// when the stack has no balancer or the balancer holds no stack.json. Throws
// DeployError when a service has env but no replica to read it from.
// The stack as its balancer keeps it (stack.json): env and build-arg values
// are placeholders (kValueInReplicas). Enough to read its routes and live splits.
std::optional<stack::Stack> load_kept_stack(engine::Engine& engine, const std::string& stack_name);

std::optional<stack::Stack> load_deployed_stack(engine::Engine& engine, const std::string& stack_name);

}  // namespace mldeploy::deploy
