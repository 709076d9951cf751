// The .env file next to a stack file, as Compose reads it: NAME=VALUE lines for
// ${VAR} interpolation. The process environment wins over it.
#pragma once

#include "stack/load.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace mldeploy::stack {

// Parses .env text: `NAME=VALUE` lines, `#` comment lines and blank lines, an
// optional `export ` before NAME, VALUE optionally in single or double quotes
// (taken as written inside them; an unquoted VALUE ends at " #"). Throws
// StackError with "file:line:col: ..." for every malformed line.
std::map<std::string, std::string> parse_dotenv(std::string_view text, const std::string& file_label);

// `env`, then the .env file in `dir` when there is one. Throws StackError when
// that file cannot be read or parsed.
EnvLookup with_dotenv(const std::filesystem::path& dir, EnvLookup env);

}  // namespace mldeploy::stack
