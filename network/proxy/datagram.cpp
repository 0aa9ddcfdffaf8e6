// lodge-proxy's udp relay: one connected socket per client address in the
// instance's network namespace, so each reply finds its client; a client
// quiet for a minute is forgotten.
#include "network/proxy/relay.hpp"

#include "common/fd.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace lodge::network::proxy {

namespace {

constexpr int kIdleSeconds = 60;
constexpr size_t kMaxClients = 4096;
// epoll tags: below kClientTag the fixed fds, else a client's socket fd.
constexpr uint64_t kListenTag = 0, kStopTag = 1, kClientTag = 16;

struct Client {
    UniqueFd fd;
    sockaddr_storage address{};
    socklen_t length = 0;
    time_t last = 0;
};

time_t now() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

void add(int epfd, int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) log_line(std::string("epoll_ctl: ") + std::strerror(errno));
}

class DatagramRelay {
public:
    DatagramRelay(int listen_fd, const detail::SocketAddress& target) : listen_fd_(listen_fd), target_(target) {}

    // Every datagram waiting on the listening socket, each to its client's socket.
    void from_clients(int epfd) {
        for (;;) {
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(listen_fd_, buf_.data(), buf_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) return; // EAGAIN, or an error about an earlier datagram
            Client* c = client(epfd, from, len);
            if (!c) continue;
            c->last = now();
            // ECONNREFUSED (nothing listens in the instance yet) drops this one.
            (void)::send(c->fd.get(), buf_.data(), static_cast<size_t>(n), MSG_DONTWAIT);
        }
    }

    // Every reply waiting on one client's socket, back to that client.
    void to_client(int fd) {
        auto it = by_fd_.find(fd);
        if (it == by_fd_.end()) return;
        Client& c = clients_.at(it->second);
        for (;;) {
            ssize_t n = ::recv(fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
            if (n < 0 && errno == ECONNREFUSED) continue;
            if (n < 0) return;
            c.last = now();
            (void)::sendto(listen_fd_, buf_.data(), static_cast<size_t>(n), MSG_DONTWAIT,
                           reinterpret_cast<const sockaddr*>(&c.address), c.length);
        }
    }

    void expire() {
        time_t t = now();
        for (auto it = clients_.begin(); it != clients_.end();) {
            if (t - it->second.last >= kIdleSeconds) {
                by_fd_.erase(it->second.fd.get());
                it = clients_.erase(it); // closing the fd takes it out of epoll
            } else {
                ++it;
            }
        }
    }

private:
    Client* client(int epfd, const sockaddr_storage& from, socklen_t len) {
        std::string key(reinterpret_cast<const char*>(&from), len);
        if (auto it = clients_.find(key); it != clients_.end()) return &it->second;
        if (clients_.size() >= kMaxClients) return nullptr;
        Client c;
        c.fd = UniqueFd(::socket(target_.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!c.fd || ::connect(c.fd.get(), target_.get(), target_.length) < 0) {
            log_line(std::string("udp socket toward the instance: ") + std::strerror(errno));
            return nullptr;
        }
        c.address = from;
        c.length = len;
        int fd = c.fd.get();
        add(epfd, fd, kClientTag + static_cast<uint64_t>(fd));
        by_fd_[fd] = key;
        return &clients_.emplace(key, std::move(c)).first->second;
    }

    int listen_fd_;
    detail::SocketAddress target_;
    std::map<std::string, Client> clients_;
    std::map<int, std::string> by_fd_;
    std::vector<char> buf_ = std::vector<char>(65536);
};

} // namespace

void serve_datagram(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds) {
    UniqueFd epfd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epfd) {
        log_line(std::string("epoll_create1: ") + std::strerror(errno));
        return;
    }
    add(epfd.get(), listen_fd, kListenTag);
    for (int fd : stop_fds) add(epfd.get(), fd, kStopTag);
    DatagramRelay relay(listen_fd, target);
    epoll_event events[64];
    for (;;) {
        int n = ::epoll_wait(epfd.get(), events, 64, 5000);
        if (n < 0 && errno != EINTR) {
            log_line(std::string("epoll_wait: ") + std::strerror(errno));
            return;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if (tag == kStopTag) return;
            if (tag == kListenTag)
                relay.from_clients(epfd.get());
            else
                relay.to_client(static_cast<int>(tag - kClientTag));
        }
        relay.expire();
    }
}

} // namespace lodge::network::proxy
