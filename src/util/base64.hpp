// Base64 (RFC 4648) for registry credentials: auth.json's "auth" field is
// standard base64 of "user:password"; the engines' X-Registry-Auth header is
// the URL-safe alphabet.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::util {

std::string base64_encode(std::string_view data);
std::string base64url_encode(std::string_view data);
// nullopt when `text` is not base64 (padding optional, whitespace not allowed).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mldeploy::util
