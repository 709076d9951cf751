// The parts of a stack file, each read and checked on its own.
#pragma once

#include "stack/model.hpp"
#include "stack/reader.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mldeploy::stack::detail {

// One [services.<name>] table; `stack_name` names the default image of a built service.
Service read_service(const TableReader& services, const toml::key& name, const toml::table& table,
                     const std::string& stack_name);

// The parts of a service, each from its own key of the service's table.
std::optional<Build> read_build(const TableReader& service);
std::vector<Volume> read_volumes(const TableReader& service);
std::optional<Health> read_health(const TableReader& service);
Resources read_resources(const TableReader& service);

// [balancer], or nullptr when it is missing; routes are checked against `services`.
Balancer read_balancer(Context& ctx, const toml::table* table, const std::vector<Service>& services);

}  // namespace mldeploy::stack::detail
