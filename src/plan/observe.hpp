// Engine listings -> the planner's view of a stack. Pure.
#pragma once

#include "engine/engine.hpp"
#include "plan/plan.hpp"

#include <vector>

namespace mldeploy::plan {

ObservedContainer observe_container(const engine::ContainerSummary& summary);
Observed observe(const std::vector<engine::ContainerSummary>& containers, bool network_exists);

}  // namespace mldeploy::plan
