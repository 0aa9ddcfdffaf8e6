// lodge-proxy's stream relay (tcp, unix): a thread per connection moving
// each direction through a pipe with splice(2), so bytes never reach user
// space; a read/write loop where a socket type cannot splice.
#include "network/proxy/relay.hpp"

#include "common/fd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

namespace lodge::network::proxy {

namespace {

constexpr size_t kChunk = 1 << 20;

struct Connection {
    UniqueFd client, target;
};

// Both directions end: a blocked splice or read on either socket returns.
void abort_connection(const Connection& c) {
    ::shutdown(c.client.get(), SHUT_RDWR);
    ::shutdown(c.target.get(), SHUT_RDWR);
}

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t m = ::write(fd, p, n);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) return false;
        p += m;
        n -= static_cast<size_t>(m);
    }
    return true;
}

// true at end of stream, false on an error.
bool copy_loop(int from, int to) {
    std::vector<char> buf(256 << 10);
    for (;;) {
        ssize_t n = ::read(from, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        if (!write_all(to, buf.data(), static_cast<size_t>(n))) return false;
    }
}

bool splice_loop(int from, int to) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return copy_loop(from, to);
    UniqueFd pr(p[0]), pw(p[1]);
    // A bigger pipe moves more per call; the default 64 KiB is kept when
    // the limit (fs.pipe-max-size) refuses.
    ::fcntl(pw.get(), F_SETPIPE_SZ, static_cast<int>(kChunk));
    bool moved = false;
    for (;;) {
        ssize_t n = ::splice(from, nullptr, pw.get(), nullptr, kChunk, SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EINVAL && !moved) return copy_loop(from, to);
        if (n < 0) return false;
        if (n == 0) return true;
        moved = true;
        while (n > 0) {
            ssize_t m = ::splice(pr.get(), nullptr, to, nullptr, static_cast<size_t>(n), SPLICE_F_MOVE);
            if (m < 0 && errno == EINTR) continue;
            if (m <= 0) return false;
            n -= m;
        }
    }
}

// One direction; at its end the peer learns it (half-close), on an error
// the whole connection ends.
void pump(int from, int to, const Connection& c) {
    if (splice_loop(from, to))
        ::shutdown(to, SHUT_WR);
    else
        abort_connection(c);
}

void no_delay(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    // Small writes pass through at once, as they would without the proxy:
    // the client's own Nagle already ran.
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 && (a.ss_family == AF_INET || a.ss_family == AF_INET6)) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

void relay(UniqueFd client, const detail::SocketAddress& target) {
    auto c = std::make_shared<Connection>();
    c->client = std::move(client);
    c->target = UniqueFd(::socket(target.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!c->target) {
        log_line(std::string("socket: ") + std::strerror(errno));
        return;
    }
    int r;
    do r = ::connect(c->target.get(), target.get(), target.length);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        log_line(std::string("connect: ") + std::strerror(errno));
        return;
    }
    no_delay(c->client.get());
    no_delay(c->target.get());
    std::thread back;
    try {
        back = std::thread([c] { pump(c->target.get(), c->client.get(), *c); });
    } catch (const std::system_error& e) {
        log_line(std::string("cannot start a relay thread: ") + e.what());
        return;
    }
    pump(c->client.get(), c->target.get(), *c);
    back.join();
}

} // namespace

void serve_stream(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds) {
    pollfd fds[3] = {{listen_fd, POLLIN, 0}, {stop_fds[0], POLLIN, 0}, {stop_fds[1], POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            log_line(std::string("poll: ") + std::strerror(errno));
            return;
        }
        if (fds[1].revents || fds[2].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            // Out of descriptors: wait a little instead of spinning on a
            // listen queue that stays readable.
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_line(std::string("accept: ") + std::strerror(errno));
                ::poll(nullptr, 0, 100);
            }
            continue;
        }
        try {
            std::thread([fd, target] { relay(UniqueFd(fd), target); }).detach();
        } catch (const std::system_error& e) {
            ::close(fd);
            log_line(std::string("cannot start a connection thread: ") + e.what());
        }
    }
}

} // namespace lodge::network::proxy
