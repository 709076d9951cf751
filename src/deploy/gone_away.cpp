#include "deploy/gone_away.hpp"

#include <fmt/format.h>

namespace mldeploy::deploy {

std::optional<DeployError> container_gone_away(const engine::EngineError& e, const std::string& stack,
                                               const std::string& command) {
    const bool gone = e.not_found() && e.step().find("container") != std::string::npos &&
                      e.engine_message().find("image") == std::string::npos;
    if (!gone) return std::nullopt;
    return DeployError(
        fmt::format("{}\n  a container of stack {} went away while this `{}` worked on it: another "
                    "mldeploy run (or someone) changed the stack at the same time; run `mldeploy {}` "
                    "again to finish",
                    e.what(), stack, command, command));
}

}  // namespace mldeploy::deploy
