#include "runtime/message.hpp"

#include "common/error.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lodge::runtime {

namespace {
constexpr size_t max_message = 1 << 20;
constexpr size_t max_fds = 4;
}

void send_message(int sock, const std::string& data, const std::vector<int>& fds) {
    if (fds.size() > max_fds) throw Error("too many descriptors for one message");
    struct iovec iov = {const_cast<char*>(data.data()), data.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)] = {};
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) throw_errno("send to monitor socket");
}

void send_message(int sock, const std::string& data, int fd) {
    send_message(sock, data, fd >= 0 ? std::vector<int>{fd} : std::vector<int>{});
}

std::string recv_message(int sock, std::vector<UniqueFd>& fds_out) {
    // Sized to the datagram waiting (MSG_PEEK|MSG_TRUNC tells its length), so
    // a small request costs no big buffer.
    ssize_t want;
    char probe;
    while ((want = ::recv(sock, &probe, 1, MSG_PEEK | MSG_TRUNC)) < 0) {
        // A peer that exits with our request unread resets the connection:
        // to the caller that is the peer having closed it.
        if (errno == ECONNRESET) return {};
        if (errno != EINTR) throw_errno("receive from monitor socket");
    }
    std::string buf(std::min(static_cast<size_t>(want ? want : 1), max_message), '\0');
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
        if (errno == ECONNRESET) return {};
        if (errno != EINTR) throw_errno("receive from monitor socket");
    }
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            fds_out.emplace_back(fd);
        }
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
}

std::string recv_message(int sock, UniqueFd* fd_out) {
    std::vector<UniqueFd> fds;
    std::string msg = recv_message(sock, fds);
    if (fd_out && !fds.empty()) *fd_out = std::move(fds.front());
    return msg;
}

} // namespace lodge::runtime
