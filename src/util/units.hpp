// Durations ("500ms", "2s", "1m", "1h") and sizes ("512", "100k", "100m", "1g").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::int64_t> parse_size(std::string_view text);  // bytes, powers of 1024

std::string format_duration(std::chrono::milliseconds d);  // "2s", "1500ms", "5m"
std::string format_size(std::int64_t bytes);               // "100m", "1g", "512"

}  // namespace mldeploy::util
