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

ErrorKind error_kind_for_status(int http_status) {
    switch (http_status) {
        case 404:
            return ErrorKind::not_found;
        case 409:
            return ErrorKind::conflict;
        default:
            return ErrorKind::engine;
    }
}

EngineError::EngineError(std::string step, int http_status, std::string engine_message)
    : EngineError(std::move(step), error_kind_for_status(http_status), http_status, std::move(engine_message)) {}

EngineError::EngineError(std::string step, ErrorKind kind, int http_status, std::string engine_message)
    : std::runtime_error(describe(step, http_status, engine_message)),
      step_(std::move(step)),
      kind_(kind),
      status_(http_status),
      engine_message_(std::move(engine_message)) {}

}  // namespace mldeploy::engine
