#include "util/hash.hpp"

#include <fmt/format.h>

namespace mldeploy::util {

std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string fnv1a_hex(std::string_view text) { return fmt::format("{:016x}", fnv1a(text)); }

}  // namespace mldeploy::util
