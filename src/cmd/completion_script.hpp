// Shell completion scripts, written from the CLI11 command table itself (the
// options and commands mldeploy really parses), so they cannot drift from it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace mldeploy::cmd {

// What a word after an option (or a positional) completes to.
enum class ValueKind { none, file, service, choices };

struct CompletionOption {
    std::vector<std::string> names;  // "-f", "--file"
    std::string description;
    bool takes_value = false;
    ValueKind kind = ValueKind::none;
    std::vector<std::string> choices;
};

struct CompletionCommand {
    std::string name;
    std::string description;
    std::vector<CompletionOption> options;
    std::vector<CompletionOption> positionals;  // names[0] is the positional's name
};

struct CompletionModel {
    std::string program;
    std::vector<CompletionOption> globals;
    std::vector<CompletionCommand> commands;
};

// Reads the options and subcommands registered on `root`.
CompletionModel completion_model(const CLI::App& root);

std::string bash_completion(const CompletionModel& m);
std::string zsh_completion(const CompletionModel& m);
std::string fish_completion(const CompletionModel& m);

}  // namespace mldeploy::cmd
