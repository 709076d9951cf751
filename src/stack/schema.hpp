// The stack file's JSON Schema (draft-07), for editors and Taplo: every key the
// loader accepts, with its type, closed sets, ranges and name patterns. Built
// from stack/keys.hpp, the lists the loader checks against; what only the loader
// can check (paths that must exist, route targets, ${VAR} that must be set, some
// minimums) is left to `mldeploy config`.
#pragma once

#include <nlohmann/json.hpp>

namespace mldeploy::stack {

nlohmann::json stack_schema();

}  // namespace mldeploy::stack
