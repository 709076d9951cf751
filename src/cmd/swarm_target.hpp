// The swarm target of the commands (up, scale, ps, logs, down): which stacks
// run on a swarm, and what each command does there. The engine target's code
// paths stay as they are; each command asks stack_swarm() first where a stack
// could be on either.
#pragma once

#include "cmd/context.hpp"
#include "deploy/images.hpp"
#include "engine/swarm.hpp"
#include "stack/model.hpp"

#include <memory>
#include <string>

namespace mldeploy::cmd {

// The swarm the stack runs on, or nullptr when it runs on the engine: the stack
// file says `target = "swarm"` (then the engine must be a swarm manager), or
// the Docker engine is a swarm manager that holds services of the stack.
std::unique_ptr<engine::SwarmEngine> stack_swarm(const GlobalOptions& g, engine::Engine& engine,
                                                 const std::string& stack_name);

struct SwarmUpOptions {
    bool dry_run = false;
    deploy::BuildPolicy build = deploy::BuildPolicy::when_changed;
};
int swarm_up(const GlobalOptions& g, const stack::Stack& stack, const SwarmUpOptions& o);
int swarm_scale(const GlobalOptions& g, engine::SwarmEngine& swarm, const std::string& stack_name,
                const std::string& service, int replicas);
int swarm_ps(const GlobalOptions& g, engine::SwarmEngine& swarm, const std::string& stack_name,
             const std::string& format);
struct SwarmLogsOptions {
    std::string service;  // "" = every model service
    bool balancer = false;
    engine::Engine::LogOptions options;
};
int swarm_logs(engine::SwarmEngine& swarm, const std::string& stack_name, const SwarmLogsOptions& o);

}  // namespace mldeploy::cmd
