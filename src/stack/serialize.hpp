// The resolved stack as JSON (stored inside the balancer, so that commands given
// only a stack's name can scale it) and as TOML (what `mldeploy config` prints).
#pragma once

#include "stack/model.hpp"

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace mldeploy::stack {

// `redact`: env values whose names look secret (TOKEN, SECRET, PASSWORD, KEY...) become "***".
nlohmann::json to_json(const Stack& stack, bool redact);
Stack stack_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception on bad input
// The stack's jobs as JSON, for `config --format json`. Not part of to_json: that
// one is also stored in the balancer, which must hold no job's env values.
nlohmann::json jobs_to_json(const Stack& stack, bool redact);
// With the jobs, as [jobs.<name>] tables after the balancer.
std::string to_toml(const Stack& stack, bool redact);

bool looks_secret(std::string_view env_name);
// A value that is a secret whatever its name: a URL with a password, a bearer token.
bool value_looks_secret(std::string_view value);

}  // namespace mldeploy::stack
