// `logs --since`: a duration back from now ("10m") or a point in time (unix
// seconds, or RFC 3339 "2026-12-02T08:00:00Z" / "+01:00"), as unix seconds,
// the form both engines' logs APIs take.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mldeploy::util {

std::optional<std::int64_t> parse_since(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace mldeploy::util
