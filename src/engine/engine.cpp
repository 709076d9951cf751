#include "engine/engine.hpp"

#include <fmt/format.h>

namespace mldeploy::engine {

namespace {

std::string describe(const std::string& step, int http_status, const std::string& engine_message) {
    if (engine_message.empty()) {
        return http_status == 0 ? step + ": failed" : fmt::format("{}: HTTP {}", step, http_status);
    }
    return step + ": " + engine_message;
}

}  // namespace

EngineError::EngineError(std::string step, int http_status, std::string engine_message)
    : std::runtime_error(describe(step, http_status, engine_message)),
      step_(std::move(step)),
      status_(http_status),
      engine_message_(std::move(engine_message)) {}

}  // namespace mldeploy::engine
