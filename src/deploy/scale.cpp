#include "deploy/scale.hpp"

#include "deploy/session.hpp"
#include "deploy/stack_state.hpp"
#include "plan/labels.hpp"

#include <algorithm>

namespace mldeploy::deploy {

std::map<std::string, int> counts_with(engine::Engine& engine, const stack::Stack& stack, const std::string& service,
                                       int replicas) {
    std::map<std::string, int> counts;
    const auto observed = observe_stack(engine, stack);
    for (const auto& s : stack.services) {
        int running = 0;
        for (const auto& c : observed.containers)
            if (c.service == s.name && c.role == plan::label::role_model) running = std::max(running, c.replica);
        counts[s.name] = s.name == service ? replicas : running;
    }
    return counts;
}

void scale_service(engine::Engine& engine, const stack::Stack& stack, const std::string& service, int replicas,
                   util::Output& out, std::optional<std::chrono::milliseconds> drain, Collaborators with) {
    // Images are the ones already on the engine, built or pulled only when missing.
    SessionOptions options;
    options.counts_only = true;
    options.drain = drain;
    options.replica_counts = counts_with(engine, stack, service, replicas);
    Session session(engine, stack, out, options, with);
    session.apply(session.plan());
}

}  // namespace mldeploy::deploy
