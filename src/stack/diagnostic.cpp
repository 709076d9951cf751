#include "stack/load.hpp"

#include <fmt/format.h>

namespace mldeploy::stack {
namespace {

std::string join_lines(const std::vector<Diagnostic>& diagnostics) {
    std::string text;
    for (const auto& diagnostic : diagnostics) {
        if (!text.empty()) text += '\n';
        text += diagnostic.to_string();
    }
    return text;
}

}  // namespace

std::string Diagnostic::to_string() const {
    if (pos.line == 0) return fmt::format("{}: {}", pos.file, message);
    return fmt::format("{}:{}:{}: {}", pos.file, pos.line, pos.column, message);
}

StackError::StackError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_lines(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace mldeploy::stack
