#include "runtime/message.hpp"

#include "common/error.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lodge::runtime {

namespace {
constexpr size_t max_message = 1 << 20;
}

void send_message(int sock, const std::string& data, int fd) {
    struct iovec iov = {const_cast<char*>(data.data()), data.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) throw_errno("send to monitor socket");
}

std::string recv_message(int sock, UniqueFd* fd_out) {
    // Sized to the datagram waiting (MSG_PEEK|MSG_TRUNC tells its length), so
    // a small request costs no big buffer.
    ssize_t want;
    char probe;
    while ((want = ::recv(sock, &probe, 1, MSG_PEEK | MSG_TRUNC)) < 0)
        if (errno != EINTR) throw_errno("receive from monitor socket");
    std::string buf(std::min(static_cast<size_t>(want ? want : 1), max_message), '\0');
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0)
        if (errno != EINTR) throw_errno("receive from monitor socket");
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            if (fd_out) fd_out->reset(fd);
            else ::close(fd);
        }
    }
    buf.resize(static_cast<size_t>(n));
    return buf;
}

} // namespace lodge::runtime
