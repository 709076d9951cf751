// Reading one file out of an in-memory tar (what an engine's archive API returns).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::util {

// The content of the first regular file whose path ends with `name` (archive
// APIs prefix the entry with the folder's base name); nullopt when there is none.
// Throws std::runtime_error when the tar is malformed.
std::optional<std::string> untar_file(std::string_view tar, std::string_view name);

}  // namespace mldeploy::util
