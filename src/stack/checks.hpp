// Checks of single values that several sections share. Each reports what is wrong
// at the value's position and says whether the value may be used.
#pragma once

#include "stack/reader.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::stack::detail {

// `value` is one of `allowed`; a near miss gets "did you mean".
bool check_one_of(Context& ctx, std::string_view key, const Located<std::string>& value,
                  const std::vector<std::string>& allowed);

// The value as an int when lo <= value <= hi.
std::optional<int> int_in_range(Context& ctx, std::string_view key, const Located<std::int64_t>& value, int lo, int hi);

// A port, 1..65535.
std::optional<int> port_number(Context& ctx, std::string_view key, const Located<std::int64_t>& value);

// An HTTP path: starts with '/', only characters safe in a URL and in nginx's configuration.
bool check_url_path(Context& ctx, std::string_view key, const Located<std::string>& value);

// The duration at `key`, when present, well formed and at least `minimum`.
std::optional<Millis> duration_at_least(const TableReader& reader, std::string_view key, Millis minimum);

bool check_image_reference(Context& ctx, std::string_view key, const Located<std::string>& value);

// A table of NAME = value (environment variables, build arguments): names checked,
// values interpolated, numbers and booleans written as text.
std::map<std::string, std::string> read_variables(const TableReader& parent, std::string_view key);

}  // namespace mldeploy::stack::detail
