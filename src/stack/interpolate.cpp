// ${VAR} substitution in string values, as in Compose files.
#include "stack/load.hpp"
#include "stack/rules.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

namespace mldeploy::stack {
namespace {

using detail::is_variable_name;

std::size_t name_length(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && (std::isalnum(static_cast<unsigned char>(text[n])) != 0 || text[n] == '_')) ++n;
    return n;
}

[[noreturn]] void bad_reference(std::string_view body) {
    throw std::invalid_argument(fmt::format(
        "bad variable reference '${{{}}}': expected ${{NAME}}, ${{NAME:-default}} or ${{NAME-default}}", body));
}

[[noreturn]] void unset_variable(std::string_view name) {
    throw std::invalid_argument(fmt::format("variable '{}' is not set; set it or write ${{{}:-default}}", name, name));
}

// The index of the '}' closing a "${" that starts at `open`, counting nested braces
// so that a default may itself hold ${OTHER}.
std::size_t closing_brace(std::string_view text, std::size_t open) {
    int depth = 0;
    for (std::size_t i = open; i < text.size(); ++i) {
        if (text[i] == '{') ++depth;
        if (text[i] == '}' && --depth == 0) return i;
    }
    throw std::invalid_argument(fmt::format("unterminated '${{' in {}; close it with '}}'", detail::in_quotes(text)));
}

// The body of ${...}: NAME, NAME:-default (unset or empty) or NAME-default (unset).
std::string expand_braced(std::string_view body, const EnvLookup& env) {
    std::string_view name = body.substr(0, name_length(body));
    std::string_view rest = body.substr(name.size());
    if (!is_variable_name(name)) bad_reference(body);

    auto value = env(std::string(name));
    if (rest.empty()) {
        if (!value) unset_variable(name);
        return *value;
    }
    if (rest.starts_with(":-")) {
        if (value && !value->empty()) return *value;
        return interpolate(rest.substr(2), env);
    }
    if (rest.starts_with("-")) {
        if (value) return *value;
        return interpolate(rest.substr(1), env);
    }
    bad_reference(body);
}

}  // namespace

std::string interpolate(std::string_view text, const EnvLookup& env) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t dollar = text.find('$', i);
        out += text.substr(i, dollar - i);
        if (dollar == std::string_view::npos) break;

        std::string_view after = text.substr(dollar + 1);
        if (after.starts_with('$')) {
            out += '$';
            i = dollar + 2;
        } else if (after.starts_with('{')) {
            std::size_t close = closing_brace(text, dollar + 1);
            out += expand_braced(text.substr(dollar + 2, close - dollar - 2), env);
            i = close + 1;
        } else if (std::string_view name = after.substr(0, name_length(after)); is_variable_name(name)) {
            auto value = env(std::string(name));
            if (!value) unset_variable(name);
            out += *value;
            i = dollar + 1 + name.size();
        } else {
            throw std::invalid_argument(
                fmt::format("'$' in {} must start a variable such as ${{NAME}}; write $$ for a literal '$'",
                            detail::in_quotes(text)));
        }
    }
    return out;
}

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

}  // namespace mldeploy::stack
