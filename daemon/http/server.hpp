// lodged's HTTP/1.1 listeners: the unix socket, and HTTPS on
// core.https_address. Boost.Beast and asio's TLS stay inside server.cpp
// (pimpl), the only translation unit besides the WebSocket one that pays
// their compile time.
#pragma once

#include "daemon/http/router.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace lodge::daemon {

struct ServerOptions {
    std::size_t body_limit = 8 * 1024 * 1024; // larger bodies get 413
    // POST /1.0/images carries whole images (a Debian one is ~120 MB).
    std::size_t upload_limit = std::size_t(4) << 30;
    // VM disk and migration uploads (X-Lodge-VM-Disk, X-Lodge-Migrate) go to
    // files in this directory as they arrive, up to vm_disk_limit bytes.
    std::string upload_dir;
    std::uint64_t vm_disk_limit = std::uint64_t(2) << 40;
    std::string group = "lodge";               // socket group when it exists
    unsigned threads = 2;                      // I/O threads
    // HTTPS: the server's certificate and key (PEM files), and whether a
    // client certificate's SHA-256 fingerprint is in the trust store
    // (asked on every request: a client may become trusted mid-connection).
    std::string tls_certificate_path;
    std::string tls_key_path;
    std::function<bool(const std::string& fingerprint)> is_trusted;
};

class UnixServer {
public:
    // Binds and listens on socket_path (mode 0660, group options.group when
    // that group exists). A stale socket is replaced; a live one (another
    // lodged answers on it) is an error.
    UnixServer(Router& router, std::string socket_path, ServerOptions options = {});
    // Serves on a socket already bound and listening (socket activation);
    // the socket file belongs to whoever made it and is left in place.
    UnixServer(Router& router, int listening_fd, ServerOptions options = {});
    ~UnixServer(); // closes the listener and removes the socket file it created
    UnixServer(const UnixServer&) = delete;
    UnixServer& operator=(const UnixServer&) = delete;

    // Listens for HTTPS on address (core.https_address syntax) instead of
    // wherever it listened before; "" stops listening. Connections already
    // open stay. Thread-safe; Error(400) when the address cannot be bound,
    // leaving the previous listener in place.
    void set_https_address(const std::string& address);

    // Serves until stop() or SIGTERM/SIGINT.
    void run();
    // Thread- and signal-context-safe (posts to the I/O context).
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace lodge::daemon
