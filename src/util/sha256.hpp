// SHA-256, streaming, from OpenSSL's libcrypto. For the build hash an image
// carries: a change to a build context must never map to the label of another
// context, which a 64-bit FNV cannot promise for files of any size.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace mldeploy::util {

class Sha256 {
public:
    Sha256();
    void update(std::string_view data);
    // The digest as 64 lowercase hex digits. Ends the hashing: call once.
    std::string hex_digest();

private:
    struct Free {
        void operator()(evp_md_ctx_st* ctx) const;
    };
    std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

// The hex digest of `data` in one call.
std::string sha256_hex(std::string_view data);

}  // namespace mldeploy::util
