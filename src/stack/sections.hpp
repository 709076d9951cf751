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

// The parts of a service, each from its own key of the service's table (jobs
// share them). A built image's default tag is localhost/<stack_name>/<name>:latest.
std::string read_image(const TableReader& service, const std::string& stack_name, const std::string& name,
                       bool has_build);
std::vector<std::string> read_command(const TableReader& service);
std::optional<Build> read_build(const TableReader& service);
std::vector<Volume> read_volumes(const TableReader& service);
std::optional<Health> read_health(const TableReader& service);
Resources read_resources(const TableReader& service);
// [services.X.autoscale]; also checks `into`'s replicas against its bounds, or
// sets them to min when the file gives none.
std::optional<Autoscale> read_autoscale(const TableReader& service, Service& into);
// [services.X.rollout]: rolling or canary, and a canary's steps and thresholds.
std::optional<Rollout> read_rollout(const TableReader& service);

// [jobs.<name>] tables; names are checked against `services`' too.
std::vector<Job> read_jobs(const TableReader& top, const std::string& stack_name, const std::vector<Service>& services);

// [balancer], or nullptr when it is missing; routes are checked against `services`.
Balancer read_balancer(Context& ctx, const toml::table* table, const std::vector<Service>& services);

// [metrics], or nullopt when the file has none.
std::optional<Metrics> read_metrics(const TableReader& top, const Balancer& balancer);

}  // namespace mldeploy::stack::detail
