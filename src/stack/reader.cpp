#include "stack/reader.hpp"

#include "stack/rules.hpp"
#include "util/suggest.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace mldeploy::stack::detail {
namespace {

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
}

// A key as TOML would need it written in a header: bare, or in double quotes.
std::string header_key(std::string_view key) {
    if (is_bare_key(key)) return std::string(key);
    std::string text = in_quotes(key);
    text.front() = '"';
    text.back() = '"';
    return text;
}

bool before(const SourcePos& a, const SourcePos& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
}

}  // namespace

std::string_view type_phrase(toml::node_type type) {
    switch (type) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
    std::string text;
    for (const auto& word : words) {
        if (!text.empty()) text += separator;
        text += word;
    }
    return text;
}

// ---- Context ----------------------------------------------------------------

Context::Context(std::string file_label, std::filesystem::path dir, EnvLookup env)
    : file_label_(std::move(file_label)), dir_(std::move(dir)), env_(std::move(env)) {}

SourcePos Context::pos_of(const toml::node& node) const {
    const auto& begin = node.source().begin;
    return {file_label_, static_cast<int>(begin.line), static_cast<int>(begin.column)};
}

SourcePos Context::pos_of(const toml::key& key) const {
    const auto& begin = key.source().begin;
    return {file_label_, static_cast<int>(begin.line), static_cast<int>(begin.column)};
}

SourcePos Context::whole_file() const { return {file_label_, 0, 0}; }

void Context::error(SourcePos pos, std::string message) {
    diagnostics_.push_back({std::move(pos), std::move(message)});
}

std::vector<Diagnostic> Context::take_diagnostics() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return before(a.pos, b.pos); });
    return std::move(diagnostics_);
}

std::optional<std::string> Context::interpolate(std::string_view text, const SourcePos& pos) {
    // A NUL would cut the value short wherever it reaches C (paths, the engine).
    if (text.find('\0') != std::string_view::npos) {
        error(pos, "a NUL character (\\u0000) is not allowed in a value");
        return std::nullopt;
    }
    try {
        return stack::interpolate(text, env_);
    } catch (const std::invalid_argument& e) {
        error(pos, e.what());
        return std::nullopt;
    }
}

std::filesystem::path Context::resolve(std::string_view path) const {
    auto resolved = (dir_ / path).lexically_normal();
    if (!resolved.has_filename() && resolved.has_parent_path() && resolved != resolved.root_path())
        resolved = resolved.parent_path();  // "models/" -> "models"
    return resolved;
}

// ---- TableReader --------------------------------------------------------------

TableReader::TableReader(Context& ctx, const toml::table& table, std::string dotted, bool array_entry)
    : ctx_(ctx), table_(table), dotted_(std::move(dotted)), array_entry_(array_entry) {}

SourcePos TableReader::pos() const {
    // The root table "starts" at 1:1 whatever the file holds; better no position than a wrong one.
    if (dotted_.empty()) return ctx_.whole_file();
    return ctx_.pos_of(table_);
}

std::string TableReader::where() const {
    if (dotted_.empty()) return "at the top level";
    return array_entry_ ? fmt::format("in [[{}]]", dotted_) : fmt::format("in [{}]", dotted_);
}

std::string TableReader::child(std::string_view key) const {
    if (dotted_.empty()) return header_key(key);
    return dotted_ + "." + header_key(key);
}

void TableReader::allow_only(const std::vector<std::string>& allowed) const {
    for (const auto& [key, value] : entries_in_order()) {
        if (std::find(allowed.begin(), allowed.end(), key->str()) != allowed.end()) continue;
        std::string message = fmt::format("unknown key {} {}", in_quotes(key->str()), where());
        if (auto close = util::closest_match(key->str(), allowed))
            message += fmt::format("; did you mean '{}'?", *close);
        else
            message += fmt::format("; allowed keys: {}", join(allowed));
        ctx_.error(ctx_.pos_of(*key), std::move(message));
    }
}

std::vector<std::pair<const toml::key*, const toml::node*>> TableReader::entries_in_order() const {
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, value] : table_) entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [this](const auto& a, const auto& b) {
        return before(ctx_.pos_of(*a.first), ctx_.pos_of(*b.first));
    });
    return entries;
}

const toml::node* TableReader::find(std::string_view key, Need need) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr && need == Need::required)
        ctx_.error(pos(), fmt::format("missing required key '{}' {}", key, where()));
    return node;
}

void TableReader::wrong_type(std::string_view key, const toml::node& value, std::string_view expected) const {
    ctx_.error(ctx_.pos_of(value), fmt::format("'{}' must be {}, not {}", key, expected, type_phrase(value.type())));
}

std::optional<Located<std::string>> TableReader::string(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    const auto* text = node->as_string();
    if (text == nullptr) {
        wrong_type(key, *node, "a string");
        return std::nullopt;
    }
    SourcePos at = ctx_.pos_of(*node);
    auto value = ctx_.interpolate(text->get(), at);
    if (!value) return std::nullopt;
    return Located<std::string>{std::move(*value), std::move(at)};
}

std::optional<Located<std::int64_t>> TableReader::integer(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    if (const auto* number = node->as_integer()) return Located<std::int64_t>{number->get(), ctx_.pos_of(*node)};
    // A quoted variable (`port = "${PORT}"`) gives a number once expanded, as in Compose.
    const auto* text = node->as_string();
    if (text == nullptr || text->get().find('$') == std::string::npos) {
        wrong_type(key, *node, "an integer");
        return std::nullopt;
    }
    SourcePos at = ctx_.pos_of(*node);
    auto value = ctx_.interpolate(text->get(), at);
    if (!value) return std::nullopt;
    std::int64_t whole = 0;
    const char* end = value->data() + value->size();
    auto [stop, error] = std::from_chars(value->data(), end, whole);
    if (value->empty() || error != std::errc() || stop != end) {
        ctx_.error(at, fmt::format("'{}' must be an integer, but {} gives {}", key, in_quotes(text->get()),
                                   in_quotes(*value)));
        return std::nullopt;
    }
    return Located<std::int64_t>{whole, std::move(at)};
}

std::optional<Located<double>> TableReader::number(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    if (const auto* whole = node->as_integer())
        return Located<double>{static_cast<double>(whole->get()), ctx_.pos_of(*node)};
    if (const auto* real = node->as_floating_point()) return Located<double>{real->get(), ctx_.pos_of(*node)};
    wrong_type(key, *node, "a number");
    return std::nullopt;
}

std::optional<Located<bool>> TableReader::boolean(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    if (const auto* flag = node->as_boolean()) return Located<bool>{flag->get(), ctx_.pos_of(*node)};
    wrong_type(key, *node, "true or false");
    return std::nullopt;
}

std::optional<Located<Millis>> TableReader::duration(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) {
        wrong_type(key, *node, R"(a duration such as "2s" or "500ms")");
        return std::nullopt;
    }
    auto text = string(key);
    if (!text) return std::nullopt;
    auto parsed = util::parse_duration(text->value);
    if (!parsed) {
        ctx_.error(text->pos, fmt::format(R"('{}' is not a duration: {}; write a number and ms, s, m or h, )"
                                          R"(such as "2s" or "500ms")",
                                          key, in_quotes(text->value)));
        return std::nullopt;
    }
    return Located<Millis>{*parsed, text->pos};
}

std::optional<Located<std::int64_t>> TableReader::size(std::string_view key, Need need) const {
    const toml::node* node = find(key, need);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) {
        wrong_type(key, *node, R"(a size such as "512m" or "1g")");
        return std::nullopt;
    }
    auto text = string(key);
    if (!text) return std::nullopt;
    auto parsed = util::parse_size(text->value);
    if (!parsed) {
        ctx_.error(text->pos, fmt::format(R"('{}' is not a size: {}; write bytes, or a number and k, m or g, )"
                                          R"(such as "512m" or "1g")",
                                          key, in_quotes(text->value)));
        return std::nullopt;
    }
    return Located<std::int64_t>{*parsed, text->pos};
}

const toml::table* TableReader::subtable(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) wrong_type(key, *node, "a table");
    return node->as_table();
}

std::optional<std::vector<Located<std::string>>> TableReader::strings(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) return std::nullopt;
    const auto* items = node->as_array();
    if (items == nullptr) {
        wrong_type(key, *node, "an array of strings");
        return std::nullopt;
    }
    std::vector<Located<std::string>> values;
    bool all_good = true;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const toml::node& item = *items->get(i);
        SourcePos at = ctx_.pos_of(item);
        const auto* text = item.as_string();
        if (text == nullptr) {
            ctx_.error(at, fmt::format("'{}' must be an array of strings; item {} is {}", key, i + 1,
                                       type_phrase(item.type())));
            all_good = false;
        } else if (auto value = ctx_.interpolate(text->get(), at)) {
            values.push_back({std::move(*value), std::move(at)});
        } else {
            all_good = false;
        }
    }
    if (!all_good) return std::nullopt;
    return values;
}

std::optional<std::string> TableReader::scalar_text(const toml::key& key, const toml::node& value) const {
    if (const auto* text = value.as_string()) return ctx_.interpolate(text->get(), ctx_.pos_of(value));
    if (const auto* whole = value.as_integer()) return std::to_string(whole->get());
    if (const auto* real = value.as_floating_point()) return fmt::format("{}", real->get());
    if (const auto* flag = value.as_boolean()) return flag->get() ? "true" : "false";
    wrong_type(key.str(), value, "a string, number or boolean");
    return std::nullopt;
}

}  // namespace mldeploy::stack::detail
