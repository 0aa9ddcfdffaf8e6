// lodge-proxy's stream relay (tcp, unix): one epoll loop for every
// connection; each direction moves through a pipe with non-blocking
// splice(2), so bytes never reach user space and no thread is made per
// connection.
#include "network/proxy/relay.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace lodge::network::proxy {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

// One direction of a connection: bytes from `from` wait in the pipe until
// `to` takes them.
struct Direction {
    int from = -1, to = -1;
    UniqueFd pipe_r, pipe_w;
    size_t queued = 0;
    bool eof = false;  // `from` has ended its stream
    bool done = false; // ... and `to` has been told (half-close)

    // Moves what it can without blocking; false on an error.
    bool pump() {
        for (;;) {
            if (queued > 0) {
                ssize_t n = ::splice(pipe_r.get(), nullptr, to, nullptr, queued, kSpliceFlags);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return errno == EAGAIN;
                queued -= static_cast<size_t>(n);
                continue;
            }
            if (eof) {
                if (!done) ::shutdown(to, SHUT_WR);
                done = true;
                return true;
            }
            ssize_t n = ::splice(from, nullptr, pipe_w.get(), nullptr, kChunk, kSpliceFlags);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno == EAGAIN;
            if (n == 0) eof = true;
            queued += static_cast<size_t>(n);
        }
    }
};

struct Connection {
    UniqueFd client, target;
    Direction up, down; // client -> target, target -> client
    bool connecting = true;
};

bool make_pipe(Direction& d) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return false;
    d.pipe_r = UniqueFd(p[0]);
    d.pipe_w = UniqueFd(p[1]);
    // A bigger pipe moves more per call; the default 64 KiB is kept when the
    // limit (fs.pipe-max-size) refuses.
    ::fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(kChunk));
    return true;
}

void no_delay(int fd, int family) {
    // Small writes pass through at once, as they would without the proxy:
    // the client's own Nagle already ran.
    int one = 1;
    if (family == AF_INET || family == AF_INET6) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class StreamRelay {
public:
    StreamRelay(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds)
        : listen_fd_(listen_fd), target_(target), epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epfd_) throw_errno("epoll_create1");
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) listen_family_ = a.ss_family;
        watch(listen_fd, &listen_tag_, EPOLLIN);
        for (int fd : stop_fds) watch(fd, &stop_tag_, EPOLLIN);
    }

    void run() {
        epoll_event events[64];
        for (;;) {
            int n = ::epoll_wait(epfd_.get(), events, 64, -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                log_line(std::string("epoll_wait: ") + std::strerror(errno));
                return;
            }
            for (int i = 0; i < n; ++i) {
                void* tag = events[i].data.ptr;
                if (tag == &stop_tag_) return;
                if (tag == &listen_tag_)
                    accept_all();
                else if (connections_.count(static_cast<Connection*>(tag)))
                    progress(static_cast<Connection*>(tag));
            }
        }
    }

private:
    void watch(int fd, void* tag, uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.ptr = tag;
        if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("epoll_ctl");
    }

    void accept_all() {
        for (;;) {
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                // Out of descriptors or memory: the listening socket stays
                // readable, so pause instead of spinning on it.
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    log_line(std::string("accept: ") + std::strerror(errno));
                    ::poll(nullptr, 0, 50);
                }
                return;
            }
            open_connection(UniqueFd(fd));
        }
    }

    void open_connection(UniqueFd client) {
        auto c = std::make_unique<Connection>();
        c->client = std::move(client);
        c->target = UniqueFd(::socket(target_.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!c->target || !make_pipe(c->up) || !make_pipe(c->down)) {
            log_line(std::string("a connection's socket or pipes: ") + std::strerror(errno));
            return;
        }
        if (::connect(c->target.get(), target_.get(), target_.length) < 0 && errno != EINPROGRESS) {
            log_line(std::string("connect: ") + std::strerror(errno));
            return;
        }
        no_delay(c->client.get(), listen_family_);
        no_delay(c->target.get(), target_.family);
        c->up.from = c->down.to = c->client.get();
        c->up.to = c->down.from = c->target.get();
        Connection* p = c.get();
        try {
            watch(c->client.get(), p, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
            watch(c->target.get(), p, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
        } catch (const Error& e) {
            log_line(e.what());
            return;
        }
        connections_.emplace(p, std::move(c));
    }

    void progress(Connection* c) {
        if (c->connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c->target.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == 0) {
                // An event of the client's while the target still connects:
                // the target's own event (writable) comes when it is done,
                // and pumping then takes what the client sent meanwhile.
                pollfd p{c->target.get(), POLLOUT, 0};
                if (::poll(&p, 1, 0) == 0) return;
            }
            if (err != 0) {
                log_line(std::string("connect: ") + std::strerror(err));
                connections_.erase(c);
                return;
            }
            c->connecting = false;
        }
        bool ok = c->up.pump() && c->down.pump();
        // Closing the sockets also takes them out of the epoll set.
        if (!ok || (c->up.done && c->down.done)) connections_.erase(c);
    }

    int listen_fd_;
    int listen_family_ = AF_UNSPEC;
    detail::SocketAddress target_;
    UniqueFd epfd_;
    char listen_tag_ = 0, stop_tag_ = 0;
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
};

} // namespace

void serve_stream(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds) {
    StreamRelay relay(listen_fd, target, stop_fds);
    relay.run();
}

} // namespace lodge::network::proxy
