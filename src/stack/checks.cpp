#include "stack/checks.hpp"

#include "stack/rules.hpp"
#include "util/suggest.hpp"
#include "util/units.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::stack::detail {

bool check_one_of(Context& ctx, std::string_view key, const Located<std::string>& value,
                  const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), value.value) != allowed.end()) return true;
    std::string message = fmt::format("'{}' must be one of {}, not {}", key, join(allowed), in_quotes(value.value));
    if (auto close = util::closest_match(value.value, allowed)) message += fmt::format("; did you mean '{}'?", *close);
    ctx.error(value.pos, std::move(message));
    return false;
}

std::optional<int> int_in_range(Context& ctx, std::string_view key, const Located<std::int64_t>& value, int lo,
                                int hi) {
    if (value.value >= lo && value.value <= hi) return static_cast<int>(value.value);
    ctx.error(value.pos, fmt::format("'{}' must be between {} and {}, not {}", key, lo, hi, value.value));
    return std::nullopt;
}

std::optional<int> port_number(Context& ctx, std::string_view key, const Located<std::int64_t>& value) {
    return int_in_range(ctx, key, value, 1, 65535);
}

bool check_url_path(Context& ctx, std::string_view key, const Located<std::string>& value) {
    if (!value.value.starts_with('/')) {
        ctx.error(value.pos, fmt::format("'{}' must start with '/', not {}", key, in_quotes(value.value)));
        return false;
    }
    if (!is_url_path(value.value)) {
        ctx.error(value.pos, fmt::format("'{}' {} may only hold letters, digits and / - . _ ~ ! & ( ) * + , = : @ % "
                                         "(no spaces, quotes, ';', '{{', '}}', '$', '#', '?' or '\\')",
                                         key, in_quotes(value.value)));
        return false;
    }
    return true;
}

std::optional<Millis> duration_at_least(const TableReader& reader, std::string_view key, Millis minimum) {
    auto duration = reader.duration(key);
    if (!duration) return std::nullopt;
    if (duration->value < minimum) {
        reader.context().error(duration->pos,
                               fmt::format("'{}' must be at least {}, not {}", key, util::format_duration(minimum),
                                           util::format_duration(duration->value)));
        return std::nullopt;
    }
    return duration->value;
}

bool check_image_reference(Context& ctx, std::string_view key, const Located<std::string>& value) {
    if (is_image_reference(value.value)) return true;
    if (has_image_characters(value.value))
        ctx.error(value.pos, fmt::format("'{}' {} is not an image reference: each part between '/' must start "
                                         "with a letter or digit (no empty, '.' or '..' parts)",
                                         key, in_quotes(value.value)));
    else
        ctx.error(value.pos, fmt::format("'{}' {} is not an image reference: use letters, digits and . _ / : @ -, "
                                         "starting with a letter or digit",
                                         key, in_quotes(value.value)));
    return false;
}

std::map<std::string, std::string> read_variables(const TableReader& parent, std::string_view key) {
    std::map<std::string, std::string> variables;
    const toml::table* table = parent.subtable(key);
    if (table == nullptr) return variables;
    TableReader reader(parent.context(), *table, parent.child(key));
    for (const auto& [name, value] : reader.entries_in_order()) {
        if (!is_variable_name(name->str())) {
            parent.context().error(parent.context().pos_of(*name),
                                   fmt::format("{} is not a valid variable name {}: use letters, digits and '_', "
                                               "not starting with a digit",
                                               in_quotes(name->str()), reader.where()));
            continue;
        }
        if (auto text = reader.scalar_text(*name, *value)) variables.emplace(name->str(), std::move(*text));
    }
    return variables;
}

}  // namespace mldeploy::stack::detail
