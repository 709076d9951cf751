#include "stack/dotenv.hpp"

#include "stack/rules.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mldeploy::stack {
namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

// Where `part` starts in `line`, 1-based, for messages.
int column_of(std::string_view line, std::string_view part) { return static_cast<int>(part.data() - line.data()) + 1; }

struct LineError {
    int column;
    std::string message;
};

// VALUE after the '=': quoted, or bare up to a " #" comment.
std::string parse_value(std::string_view line, std::string_view raw, std::optional<LineError>& error) {
    std::string_view value = trim(raw);
    if (value.empty()) return {};
    const char quote = value.front();
    if (quote == '"' || quote == '\'') {
        const auto close = value.find(quote, 1);
        if (close == std::string_view::npos) {
            error = LineError{column_of(line, value), fmt::format("unclosed {} in the value; close it on the same line",
                                                                  quote == '"' ? "'\"'" : "\"'\"")};
            return {};
        }
        std::string_view after = trim(value.substr(close + 1));
        if (!after.empty() && !after.starts_with('#')) {
            error = LineError{column_of(line, after), "text after the closing quote; put a '#' before a comment"};
            return {};
        }
        return std::string(value.substr(1, close - 1));
    }
    if (const auto comment = value.find(" #"); comment != std::string_view::npos)
        value = trim(value.substr(0, comment));
    return std::string(value);
}

}  // namespace

std::map<std::string, std::string> parse_dotenv(std::string_view text, const std::string& file_label) {
    std::map<std::string, std::string> values;
    std::vector<Diagnostic> problems;
    std::istringstream lines{std::string(text)};
    std::string line_text;
    int number = 0;
    while (std::getline(lines, line_text)) {
        ++number;
        const std::string_view line = line_text;
        std::string_view rest = trim(line);
        if (rest.empty() || rest.starts_with('#')) continue;
        if (rest.starts_with("export ") || rest.starts_with("export\t")) rest = trim(rest.substr(7));
        const auto equals = rest.find('=');
        if (equals == std::string_view::npos) {
            problems.push_back({{file_label, number, column_of(line, rest)},
                                fmt::format("expected NAME=VALUE, not {}", detail::in_quotes(rest))});
            continue;
        }
        const std::string_view name = trim(rest.substr(0, equals));
        if (!detail::is_variable_name(name)) {
            problems.push_back({{file_label, number, column_of(line, rest)},
                                fmt::format("{} is not a variable name: use letters, digits and '_', not starting "
                                            "with a digit",
                                            detail::in_quotes(name))});
            continue;
        }
        std::optional<LineError> error;
        std::string value = parse_value(line, rest.substr(equals + 1), error);
        if (error) {
            problems.push_back({{file_label, number, error->column}, std::move(error->message)});
            continue;
        }
        values[std::string(name)] = std::move(value);  // a later line wins, as in Compose
    }
    if (!problems.empty()) throw StackError(std::move(problems));
    return values;
}

EnvLookup with_dotenv(const fs::path& dir, EnvLookup env) {
    const fs::path file = dir / ".env";
    std::error_code error;
    if (!fs::is_regular_file(file, error)) return env;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof())
        throw StackError({Diagnostic{{file.string(), 0, 0}, fmt::format("cannot read: {}", std::strerror(errno))}});
    auto values = parse_dotenv(text.str(), file.string());
    return [env = std::move(env), values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        if (auto value = env(name)) return value;
        if (auto found = values.find(name); found != values.end()) return found->second;
        return std::nullopt;
    };
}

}  // namespace mldeploy::stack
