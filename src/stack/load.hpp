// Reading a stack file: TOML -> interpolation -> validation -> Stack.
// Every problem is reported as "file:line:col: message" before anything touches
// the engine.
#pragma once

#include "stack/model.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mldeploy::stack {

struct Diagnostic {
    SourcePos pos;        // line/column 0 when the problem has no position
    std::string message;  // what is wrong, and what would be right

    // "file:line:col: message" (or "file: message" without a position)
    std::string to_string() const;
};

// Thrown by the loader; holds every problem found, in file order.
class StackError : public std::runtime_error {
public:
    explicit StackError(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

// Looks up an environment variable for ${VAR} interpolation; nullopt = unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
EnvLookup process_env();

// Loads and validates a stack from a file; ${VAR} looks in `env`, then in the
// .env file next to the stack file (stack/dotenv.hpp). Throws StackError.
Stack load_stack_file(const std::filesystem::path& file, const EnvLookup& env = process_env());

// What a stack's `target` forbids (autoscale and canaries on a swarm), in file
// order. The loader reports them; `up --target swarm` asks again after its flag.
std::vector<Diagnostic> target_problems(const Stack& stack);

// Same, from text already in memory; `file` names it in messages and anchors
// relative paths. Used by unit tests and the fuzzer.
Stack load_stack_text(std::string_view text, const std::filesystem::path& file, const EnvLookup& env = process_env());

// ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$ (a literal '$').
// Throws std::invalid_argument with a message on malformed input.
std::string interpolate(std::string_view text, const EnvLookup& env);

// Valid stack and service names: [a-z0-9][a-z0-9_-]*, at most 40 characters.
bool is_valid_name(std::string_view name);

}  // namespace mldeploy::stack
