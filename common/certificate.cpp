// Certificates with OpenSSL's libcrypto: generation, parsing, fingerprints.
#include "common/certificate.hpp"

#include "common/sha256.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <memory>

namespace lodge {

namespace {

struct Free {
    void operator()(X509* p) const { X509_free(p); }
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(BIGNUM* p) const { BN_free(p); }
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

[[noreturn]] void fail(const std::string& what) { throw Error(500, what + ": OpenSSL error"); }

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

Owned<X509> parse_pem(const std::string& pem) {
    Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) throw Error(400, "Invalid certificate: not a PEM X.509 certificate");
    return cert;
}

std::string to_pem(X509* cert) {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_X509(bio.get(), cert)) fail("encode certificate");
    return bio_string(bio.get());
}

std::string der(X509* cert) {
    int n = i2d_X509(cert, nullptr);
    if (n <= 0) fail("encode certificate");
    std::string out(static_cast<std::size_t>(n), '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    i2d_X509(cert, &p);
    return out;
}

std::string user_at_host() {
    std::string user = "UNKNOWN";
    if (passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name && *pw->pw_name) user = pw->pw_name;
    char host[256] = "UNKNOWN";
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "UNKNOWN");
    return user + "@" + host;
}

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail("certificate extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

} // namespace

bool ensure_certificate(const std::string& cert_path, const std::string& key_path, CertificateRole role) {
    struct stat st{};
    if (::stat(cert_path.c_str(), &st) == 0 && ::stat(key_path.c_str(), &st) == 0) return false;

    Owned<EVP_PKEY> key(EVP_EC_gen("P-384"));
    if (!key) fail("generate EC P-384 key");
    Owned<X509> cert(X509_new());
    X509_set_version(cert.get(), 2);
    // A random 128-bit serial, as LXD's generator uses.
    Owned<BIGNUM> serial(BN_new());
    if (!BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
        fail("certificate serial");
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("linuxcontainers.org"),
                               -1, -1, 0);
    const std::string cn = user_at_host();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_extension(cert.get(), NID_ext_key_usage, role == CertificateRole::Server ? "serverAuth" : "clientAuth");
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    if (role == CertificateRole::Server) {
        // The host's name and the loopback addresses, as LXD's server certificate names them.
        char host[256] = "";
        std::string sans = "IP:127.0.0.1,IP:::1";
        if (::gethostname(host, sizeof host - 1) == 0 && *host) sans = "DNS:" + std::string(host) + "," + sans;
        add_extension(cert.get(), NID_subject_alt_name, sans.c_str());
    }
    if (!X509_sign(cert.get(), key.get(), EVP_sha384())) fail("sign certificate");

    Owned<BIO> key_bio(BIO_new(BIO_s_mem()));
    // "EC PRIVATE KEY" (SEC 1), the form LXD writes and Go's tls package reads.
    if (!PEM_write_bio_PrivateKey_traditional(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
        fail("encode key");
    write_file_atomic(key_path, bio_string(key_bio.get()), 0600);
    write_file_atomic(cert_path, to_pem(cert.get()), 0644);
    return true;
}

std::string certificate_fingerprint(const std::string& pem) {
    auto cert = parse_pem(pem);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!X509_digest(cert.get(), EVP_sha256(), md, &n)) fail("certificate digest");
    return to_hex(md, n);
}

std::string certificate_to_pem(const std::string& input) {
    if (input.find("-----BEGIN CERTIFICATE-----") != std::string::npos) return to_pem(parse_pem(input).get());
    std::string raw;
    try {
        raw = base64_decode(input);
    } catch (const Error&) {
        throw Error(400, "Invalid certificate: neither PEM nor base64 DER");
    }
    auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    Owned<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(raw.size())));
    if (!cert) throw Error(400, "Invalid certificate material: not an X.509 certificate");
    return to_pem(cert.get());
}

std::string certificate_base64_der(const std::string& pem) { return base64_encode(der(parse_pem(pem).get())); }

std::string certificate_common_name(const std::string& pem) {
    auto cert = parse_pem(pem);
    char buf[256] = "";
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof buf) < 0) return "";
    return buf;
}

std::pair<long long, long long> certificate_validity(const std::string& pem) {
    auto cert = parse_pem(pem);
    auto seconds = [](const ASN1_TIME* t) {
        std::tm tm{};
        if (!ASN1_TIME_to_tm(t, &tm)) throw Error(400, "Invalid certificate: bad validity time");
        return static_cast<long long>(::timegm(&tm));
    };
    return {seconds(X509_get0_notBefore(cert.get())), seconds(X509_get0_notAfter(cert.get()))};
}

std::string base64_encode(const std::string& data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64_decode(const std::string& text) {
    std::string in;
    for (char c : text)
        if (c != '\n' && c != '\r' && c != ' ') in += c;
    if (in.size() % 4 != 0) throw Error(400, "Invalid base64: length not a multiple of 4");
    std::string out(in.size() / 4 * 3 + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    if (n < 0) throw Error(400, "Invalid base64");
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t size = static_cast<std::size_t>(n);
    for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) --size;
    out.resize(size);
    return out;
}

std::string random_hex(std::size_t n) {
    std::string bytes(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) fail("random bytes");
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

std::string x509_to_pem(X509* cert) {
    if (!cert) return "";
    std::string out;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        if (PEM_write_bio_X509(bio, cert)) {
            char* data = nullptr;
            long n = BIO_get_mem_data(bio, &data);
            out.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(bio);
    }
    return out;
}

} // namespace lodge
