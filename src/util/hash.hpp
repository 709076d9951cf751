// A stable, fast, non-cryptographic hash for config labels (FNV-1a, 64 bit):
// the same text gives the same label on every machine and every run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mldeploy::util {

std::uint64_t fnv1a(std::string_view text);
std::string fnv1a_hex(std::string_view text);  // 16 hex digits

}  // namespace mldeploy::util
