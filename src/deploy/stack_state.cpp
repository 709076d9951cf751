#include "deploy/stack_state.hpp"

#include "deploy/balancer.hpp"
#include "deploy/errors.hpp"
#include "plan/labels.hpp"
#include "plan/observe.hpp"
#include "plan/specs.hpp"
#include "stack/serialize.hpp"
#include "util/untar.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace mldeploy::deploy {
namespace {

// Env values as the replicas of `service` run them.
void env_from_replicas(engine::Engine& engine, const std::string& stack_name, stack::Service& service) {
    if (service.env.empty()) return;
    const auto replicas = engine.list_containers({{plan::label::stack, stack_name},
                                                  {plan::label::role, plan::label::role_model},
                                                  {plan::label::service, service.name}});
    for (const auto& r : replicas) {
        const auto details = engine.inspect_container(r.id);
        bool complete = true;
        for (const auto& [key, value] : service.env) complete = complete && details.env.contains(key);
        if (!complete) continue;
        for (auto& [key, value] : service.env) value = details.env.at(key);
        return;
    }
    throw DeployError(
        fmt::format("service {} has no replica to read its env from (the balancer keeps no env "
                    "values); give the stack file with -f",
                    service.name));
}

}  // namespace

plan::Observed observe_stack(engine::Engine& engine, const stack::Stack& stack) {
    const auto labels = plan::stack_labels(stack);
    auto containers = engine.list_containers(labels);
    bool network_exists = false;
    for (const auto& n : engine.list_networks(labels))
        if (n.name == stack.network) network_exists = true;
    return plan::observe(containers, network_exists);
}

std::optional<stack::Stack> load_kept_stack(engine::Engine& engine, const std::string& stack_name) {
    const auto balancers =
        engine.list_containers({{plan::label::stack, stack_name}, {plan::label::role, plan::label::role_balancer}});
    for (const auto& b : balancers) {
        std::string tar;
        try {
            tar = engine.get_archive(b.id, std::string(render::kBalancerConfigDir) + "/" + kDeployedStackFile);
        } catch (const engine::EngineError& e) {
            if (e.not_found()) continue;
            throw;
        }
        if (auto text = util::untar_file(tar, kDeployedStackFile))
            return stack::stack_from_json(nlohmann::json::parse(*text));
    }
    return std::nullopt;
}

std::optional<stack::Stack> load_deployed_stack(engine::Engine& engine, const std::string& stack_name) {
    auto stack = load_kept_stack(engine, stack_name);
    if (stack)
        for (auto& service : stack->services) env_from_replicas(engine, stack_name, service);
    return stack;
}

}  // namespace mldeploy::deploy
