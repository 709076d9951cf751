// What text is allowed where. Names and paths end up in container names, image
// tags and the balancer's nginx configuration, so these allow-lists are also what
// keeps a stack file from injecting anything into them.
#pragma once

#include "stack/load.hpp"  // is_valid_name, for stack and service names

#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::stack::detail {

inline constexpr std::size_t max_name_length = 40;

// As is_valid_name, and '.' is allowed too.
bool is_valid_network_name(std::string_view name);
// [A-Za-z_][A-Za-z0-9_]* (environment variables, build arguments).
bool is_variable_name(std::string_view name);
// [A-Za-z0-9][A-Za-z0-9_.-]*
bool is_volume_name(std::string_view name);
// An alphanumeric first character, then [A-Za-z0-9._/:@-].
bool has_image_characters(std::string_view image);
// As has_image_characters, and every '/'-separated part starts with a letter or
// digit: no "", "." or ".." parts.
bool is_image_reference(std::string_view image);
// Starts with '/', then only characters that need no quoting in a URL path or in
// an nginx configuration: no spaces, quotes, ';', braces, '$', '\', '#', '?'.
bool is_url_path(std::string_view path);
// An IPv4 or IPv6 address literal, without brackets.
bool is_ip_literal(std::string_view text);

// "a:b:" -> {"a", "b", ""}
std::vector<std::string> split(std::string_view text, char separator);

// 'text' in single quotes, with control characters escaped, for messages.
std::string in_quotes(std::string_view text);

}  // namespace mldeploy::stack::detail
