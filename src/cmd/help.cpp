#include "cmd/help.hpp"

#include "util/suggest.hpp"

#include <fmt/format.h>

#include <string_view>

namespace mldeploy::cmd {
namespace {

// Global options that take a value (cli.cpp's add_global_options).
bool takes_value(std::string_view long_option) {
    for (std::string_view o : {"--file", "--stack", "--host", "--engine", "--format"})
        if (long_option == o) return true;
    return false;
}
bool short_takes_value(char c) { return c == 'f' || c == 's' || c == 'H'; }

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : ", ") + w;
    return text;
}

}  // namespace

std::optional<std::string> command_word(const std::vector<std::string>& args) {
    const auto i = command_word_index(args);
    return i ? std::optional(args[*i]) : std::nullopt;
}

std::optional<std::size_t> command_word_index(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") return i + 1 < args.size() ? std::optional(i + 1) : std::nullopt;
        if (a.starts_with("--")) {
            if (a.find('=') == std::string::npos && takes_value(a)) ++i;
            continue;
        }
        if (a.starts_with('-') && a.size() > 1) {
            // A group of short flags (-qv); a value-taking one ends it, with its
            // value attached (-fstack.toml) or in the next word (-f stack.toml).
            for (std::size_t k = 1; k < a.size(); ++k) {
                if (!short_takes_value(a[k])) continue;
                if (k + 1 == a.size()) ++i;
                break;
            }
            continue;
        }
        return i;
    }
    return std::nullopt;
}

std::string unknown_command_message(const std::string& word, const std::vector<std::string>& commands) {
    if (auto close = util::closest_match(word, commands))
        return fmt::format("unknown command '{}'; did you mean '{}'?", word, *close);
    return fmt::format("unknown command '{}'; the commands are: {} (mldeploy --help says more)", word, join(commands));
}

std::string missing_command_message(const std::vector<std::string>& commands) {
    return fmt::format("no command given; the commands are: {} (mldeploy --help says more)", join(commands));
}

std::string UsageFormatter::make_usage(const CLI::App*, std::string name) const {
    return fmt::format("Usage: {} {}\n", name, usage_);
}

std::string help_footer(const Command& command, bool own_short_f) {
    std::vector<std::pair<std::string, std::string>> rows;
    if ((command.globals & uses::file) != 0)
        rows.emplace_back(own_short_f ? "    --file PATH" : "-f, --file PATH",
                          "The stack file (default: ./stack.toml)");
    if ((command.globals & uses::stack) != 0)
        rows.emplace_back("-s, --stack NAME", "A deployed stack, by name, without its file");
    if ((command.globals & uses::host) != 0) {
        rows.emplace_back("-H, --host URL", "The engine's socket, unix:///path (default: $MLDEPLOY_HOST, ...)");
        rows.emplace_back("    --engine NAME", "podman or docker (default: detected from the socket)");
    }
    if ((command.globals & uses::format) != 0) rows.emplace_back("    --format FORMAT", "text or json");
    rows.emplace_back("-q, --quiet", "Print only results and errors");
    rows.emplace_back("-v, --verbose", "Print every step and the engine's output");
    rows.emplace_back("    --no-color", "No colour (also: NO_COLOR)");

    std::string text = "Global options (before or after the command):\n";
    for (const auto& [option, what] : rows) text += fmt::format("  {:<22}{}\n", option, what);
    if (*command.example != '\0') text += fmt::format("\nExample:\n  {}\n", command.example);
    return text;
}

}  // namespace mldeploy::cmd
