// TLS for lodge's HTTPS remotes, with OpenSSL directly: the client presents
// its certificate and checks the server's against the one pinned when the
// remote was added (as lxc trusts servercerts/NAME.crt alone).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace lodge::cli {

struct TlsOptions {
    std::string client_certificate; // PEM file; "" sends none
    std::string client_key;         // PEM file
    // The server must present exactly this certificate (PEM text). Empty:
    // the system's CAs and the host name decide, unless insecure.
    std::string pinned_certificate;
    // Accept any server certificate: only to fetch it and compare its
    // fingerprint with a trust token's before pinning it.
    bool insecure = false;
    std::string host; // for SNI and the host name check
};

class TlsConnection {
public:
    // Handshakes over the connected socket fd (owned by the caller); throws
    // std::runtime_error saying why when it fails or the server is not the
    // one pinned.
    TlsConnection(int fd, const TlsOptions& options);
    ~TlsConnection();
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    // Like recv/send: bytes moved, 0 at the end of the stream; throws on errors.
    std::size_t read(char* buf, std::size_t size);
    std::size_t write(const char* buf, std::size_t size);

    // The server's certificate (PEM).
    std::string peer_certificate() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace lodge::cli
