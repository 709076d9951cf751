// SHA-256 (FIPS 180-4), streaming. For the build hash an image carries: a
// change to a build context must never map to the label of another context,
// which a 64-bit FNV cannot promise for files of any size.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mldeploy::util {

class Sha256 {
public:
    Sha256();
    void update(std::string_view data);
    // The digest as 64 lowercase hex digits. Ends the hashing: call once.
    std::string hex_digest();

private:
    void block(const unsigned char* p);

    std::array<std::uint32_t, 8> state_;
    std::array<unsigned char, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;  // bytes hashed
};

// The hex digest of `data` in one call.
std::string sha256_hex(std::string_view data);

}  // namespace mldeploy::util
