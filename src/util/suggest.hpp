// "did you mean ...?" for near-miss keys and names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::util {

std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within a small edit distance, if any.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace mldeploy::util
