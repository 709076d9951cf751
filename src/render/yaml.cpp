#include "render/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

namespace mldeploy::render {
namespace {

void emit(YAML::Emitter& out, const Doc& value) {
    switch (value.type()) {
        case Doc::value_t::object:
            if (value.empty()) {
                out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
                return;
            }
            out << YAML::BeginMap;
            for (const auto& [key, item] : value.items()) {
                out << YAML::Key;
                if (needs_yaml_quotes(key)) out << YAML::DoubleQuoted;
                out << key << YAML::Value;
                emit(out, item);
            }
            out << YAML::EndMap;
            return;
        case Doc::value_t::array:
            if (value.empty()) {
                out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
                return;
            }
            out << YAML::BeginSeq;
            for (const auto& item : value) emit(out, item);
            out << YAML::EndSeq;
            return;
        case Doc::value_t::string: {
            const auto& text = value.get_ref<const std::string&>();
            // A literal block keeps text such as an nginx.conf readable; it
            // cannot hold trailing blanks on a line or a leading blank line.
            const bool block = text.find('\n') != std::string::npos && text.find(" \n") == std::string::npos &&
                               text.find("\t") == std::string::npos && !text.starts_with(' ') &&
                               !text.starts_with('\n');
            if (block)
                out << YAML::Literal;
            else if (needs_yaml_quotes(text))
                out << YAML::DoubleQuoted;
            out << text;
            return;
        }
        case Doc::value_t::boolean:
            out << YAML::TrueFalseBool << value.get<bool>();
            return;
        case Doc::value_t::number_integer:
            out << value.get<std::int64_t>();
            return;
        case Doc::value_t::number_unsigned:
            out << value.get<std::uint64_t>();
            return;
        case Doc::value_t::number_float:
            out << value.get<double>();
            return;
        default:
            out << YAML::Null;
            return;
    }
}

}  // namespace

bool needs_yaml_quotes(std::string_view text) {
    if (text.empty()) return true;
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    // YAML 1.1 (PyYAML: docker-compose) booleans and nulls, and 1.2's.
    static constexpr std::array<std::string_view, 14> words{"true", "false", "yes", "no",   "on",    "off",  "y",
                                                            "n",    "null",  "~",   ".inf", "-.inf", ".nan", "<<"};
    if (std::find(words.begin(), words.end(), lower) != words.end()) return true;
    // Anything number-like: ints, floats, hex, octal, exponents, 1_000,
    // sexagesimal 1:20 (YAML 1.1).
    static const std::regex number(R"([-+]?(\.?[0-9][0-9a-fA-FxXoObB_:.eE+-]*|\.inf|\.nan))");
    return std::regex_match(lower, number);
}

std::string to_yaml(const Doc& doc) {
    YAML::Emitter out;
    out.SetIndent(2);
    out.SetSeqFormat(YAML::Block);
    emit(out, doc);
    std::string text = out.c_str();
    if (!text.ends_with('\n')) text += '\n';
    return text;
}

std::string to_yaml_stream(const std::vector<Doc>& docs) {
    std::string text;
    for (const auto& doc : docs) text += "---\n" + to_yaml(doc);
    return text;
}

}  // namespace mldeploy::render
