// What every command shares: the global options, and finding the stack a
// command means (CONTRACT.md: -f, -s, ./stack.toml, the one deployed stack).
#pragma once

#include "engine/engine.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mldeploy::cmd {

struct GlobalOptions {
    std::string file;
    std::string stack_name;
    std::string host;
    std::string engine;  // "podman" | "docker" | "" (detect)
    std::string format = "text";
    bool quiet = false;
    bool verbose = false;
    bool no_color = false;
    // The words after `--` of a command that runs a command (exec); nullopt without `--`.
    std::optional<std::vector<std::string>> command_args;
};

// The command line is wrong: exit status 2, nothing touched.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using Runner = std::function<int(const GlobalOptions&)>;

// The global options a command reads, for its --help (-q, -v and --no-color
// apply to every command and are always listed).
namespace uses {
inline constexpr unsigned file = 1;    // -f, --file
inline constexpr unsigned stack = 2;   // -s, --stack
inline constexpr unsigned host = 4;    // -H, --host and --engine
inline constexpr unsigned format = 8;  // --format
}  // namespace uses

// One entry per command: its name, one line of help, and a function that adds
// its options to the subcommand and returns what runs it; then one example
// command line and the global options it reads, both shown by its --help.
struct Command {
    const char* name;
    const char* summary;
    std::function<Runner(CLI::App&)> setup;
    const char* example = "";
    unsigned globals = 0;
    // The words after `--` are a command to run in a container (exec), not
    // mldeploy's: they reach the runner untouched, in GlobalOptions::command_args,
    // and `usage` (e.g. "[OPTIONS] [SERVICE] -- CMD [ARGS...]") says so in --help.
    bool runs_command = false;
    const char* usage = "";
    // Not listed in help or completions: mldeploy's own (agent, in the controller).
    bool hidden = false;
};

// The stack file the command means: `positional` (up's argument), -f, or
// ./stack.toml when it exists.
std::optional<std::filesystem::path> stack_file_path(const GlobalOptions& g, const std::string& positional = {});

// Loads the stack file; UsageError when there is none to load.
stack::Stack load_stack(const GlobalOptions& g, const std::string& positional = {});

std::unique_ptr<engine::Engine> connect_engine(const GlobalOptions& g);

// What a command does with `-s NAME` when nothing of that stack is on the engine.
enum class IfNotDeployed {
    fail,   // UsageError (exit 2) naming the stacks that are deployed
    allow,  // the caller handles it: down (nothing to remove), ps (checks only when its list is empty)
};

// The name of the stack the command means, for commands that need only its
// name (down, ps, logs, scale without a file): -s, the stack file's name, or
// the one deployed stack. A name given with -s must be deployed, unless `allow`.
std::string resolve_stack_name(const GlobalOptions& g, engine::Engine& engine,
                               IfNotDeployed if_not_deployed = IfNotDeployed::fail);

// UsageError "stack 'NAME' is not deployed on ENGINE; deployed stacks: a, b"
// when the engine holds no container and no network of the stack.
void require_deployed(engine::Engine& engine, const std::string& name);

// With one model service, SERVICE may be left out.
std::string resolve_service(const stack::Stack& stack, const std::string& given);

util::Output& output();

}  // namespace mldeploy::cmd
