// SHA-256 through OpenSSL's EVP interface.
#include "common/sha256.hpp"

#include "common/error.hpp"

#include <openssl/evp.h>

namespace lodge {

std::string to_hex(const unsigned char* data, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), ok_(ctx_ && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1) {}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void* data, std::size_t n) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_, data, n) == 1;
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, digest, &len) != 1) throw Error(500, "SHA-256 failed");
    ok_ = false;
    return to_hex(digest, len);
}

} // namespace lodge
