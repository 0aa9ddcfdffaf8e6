// lodged's HTTP/1.1 listener on its unix socket. Boost.Beast stays inside
// server.cpp (pimpl), the only translation unit that pays its compile time.
#pragma once

#include "daemon/http/router.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace lodge::daemon {

struct ServerOptions {
    std::size_t body_limit = 8 * 1024 * 1024; // larger bodies get 413
    // POST /1.0/images carries whole images (a Debian one is ~120 MB).
    std::size_t upload_limit = std::size_t(4) << 30;
    std::string group = "lodge";               // socket group when it exists
    unsigned threads = 2;                      // I/O threads
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

    // Serves until stop() or SIGTERM/SIGINT.
    void run();
    // Thread- and signal-context-safe (posts to the I/O context).
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace lodge::daemon
