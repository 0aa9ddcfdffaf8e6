// The OpenSSL side of lodge's HTTPS remotes.
#include "cli/tls.hpp"

#include "common/certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace lodge::cli {

namespace {

std::string ssl_error(const std::string& what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return what + (e ? std::string(": ") + buf : std::string());
}

} // namespace

struct TlsConnection::Impl {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    ~Impl() {
        if (ssl) {
            SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        if (ctx) SSL_CTX_free(ctx);
    }
};

TlsConnection::TlsConnection(int fd, const TlsOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->ctx = SSL_CTX_new(TLS_client_method());
    if (!impl_->ctx) throw std::runtime_error(ssl_error("TLS context"));
    SSL_CTX_set_min_proto_version(impl_->ctx, TLS1_2_VERSION);
    if (!options.client_certificate.empty()) {
        if (SSL_CTX_use_certificate_chain_file(impl_->ctx, options.client_certificate.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(impl_->ctx, options.client_key.c_str(), SSL_FILETYPE_PEM) != 1)
            throw std::runtime_error(ssl_error("loading the client certificate " + options.client_certificate));
    }
    const bool system_ca = options.pinned_certificate.empty() && !options.insecure;
    if (system_ca) {
        SSL_CTX_set_default_verify_paths(impl_->ctx);
        SSL_CTX_set_verify(impl_->ctx, SSL_VERIFY_PEER, nullptr);
    } else {
        // Pinned: checked against the one certificate after the handshake.
        SSL_CTX_set_verify(impl_->ctx, SSL_VERIFY_NONE, nullptr);
    }
    impl_->ssl = SSL_new(impl_->ctx);
    if (!impl_->ssl || SSL_set_fd(impl_->ssl, fd) != 1) throw std::runtime_error(ssl_error("TLS session"));
    if (!options.host.empty()) {
        SSL_set_tlsext_host_name(impl_->ssl, options.host.c_str());
        if (system_ca) SSL_set1_host(impl_->ssl, options.host.c_str());
    }
    if (SSL_connect(impl_->ssl) != 1) throw std::runtime_error(ssl_error("TLS handshake with " + options.host));
    if (!options.pinned_certificate.empty()) {
        const auto got = peer_certificate();
        if (got.empty() || certificate_fingerprint(got) != certificate_fingerprint(options.pinned_certificate))
            throw std::runtime_error("the server " + options.host +
                                     " presented another certificate than the one stored for this remote");
    }
}

TlsConnection::~TlsConnection() = default;

std::size_t TlsConnection::read(char* buf, std::size_t size) {
    for (;;) {
        int n = SSL_read(impl_->ssl, buf, static_cast<int>(size));
        if (n > 0) return static_cast<std::size_t>(n);
        int err = SSL_get_error(impl_->ssl, n);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        // A server that closes without close_notify (common, and harmless
        // for HTTP with lengths) ends the stream too.
        if (err == SSL_ERROR_SYSCALL || (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
                                                                     SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
            ERR_clear_error();
            return 0;
        }
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
        throw std::runtime_error(ssl_error("TLS read"));
    }
}

std::size_t TlsConnection::write(const char* buf, std::size_t size) {
    for (;;) {
        int n = SSL_write(impl_->ssl, buf, static_cast<int>(size));
        if (n > 0) return static_cast<std::size_t>(n);
        int err = SSL_get_error(impl_->ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
        ERR_clear_error();
        return 0;
    }
}

std::string TlsConnection::peer_certificate() const {
    X509* cert = SSL_get1_peer_certificate(impl_->ssl);
    std::string out = x509_to_pem(cert);
    X509_free(cert);
    return out;
}

} // namespace lodge::cli
