// What the command line says before CLI11 reads it, and what each command's
// --help adds: the global options it reads, and an example.
#pragma once

#include "cmd/context.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mldeploy::cmd {

// The command word of a command line (argv without the program's name): the
// first word that is neither a global option nor a global option's value.
std::optional<std::string> command_word(const std::vector<std::string>& args);
// The index of that word in `args`.
std::optional<std::size_t> command_word_index(const std::vector<std::string>& args);

// "unknown command 'scal'; did you mean 'scale'?", or the list of commands when
// none is near.
std::string unknown_command_message(const std::string& word, const std::vector<std::string>& commands);

// "no command given; ..." with the list of commands.
std::string missing_command_message(const std::vector<std::string>& commands);

// The usage line of a command whose CLI11 usage cannot say it all (exec's `-- CMD [ARGS...]`).
class UsageFormatter : public CLI::Formatter {
public:
    explicit UsageFormatter(std::string usage) : usage_(std::move(usage)) {}
    std::string make_usage(const CLI::App* app, std::string name) const override;

private:
    std::string usage_;
};

// The end of a command's --help: the global options it reads and its example.
// `own_short_f`: the command uses -f itself (logs -f follows), so --file is long only.
std::string help_footer(const Command& command, bool own_short_f);

}  // namespace mldeploy::cmd
