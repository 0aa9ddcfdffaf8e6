// SHA-256 as lodge writes it everywhere (image and certificate
// fingerprints, published checksums): lower-case hex.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace lodge {

// Lower-case hex of n bytes.
std::string to_hex(const unsigned char* data, std::size_t n);

// A digest fed piece by piece. Error(500) if OpenSSL fails.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t n);
    void update(std::string_view data) { update(data.data(), data.size()); }
    // The digest of all fed so far, as hex; the object is spent after.
    std::string hex();

private:
    evp_md_ctx_st* ctx_;
    bool ok_;
};

inline std::string sha256_hex(std::string_view data) {
    Sha256 sha;
    sha.update(data);
    return sha.hex();
}

} // namespace lodge
