// The proxy tests' stand-in instance (see proxy_instance.hpp).
#include "tests/integration/proxy_instance.hpp"

#include "common/file.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lodge::test {

bool send_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t m = ::send(fd, p, n, MSG_NOSIGNAL);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) return false;
        p += m;
        n -= static_cast<size_t>(m);
    }
    return true;
}

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    ::_exit(1);
}

// A connection's handler in the stand-in: a process of its own that dies
// with the stand-in.
void serve_connection(int fd, bool count) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    static char buf[1 << 16];
    size_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += static_cast<size_t>(n);
        if (!count && !send_all(fd, buf, static_cast<size_t>(n))) ::_exit(1);
    }
    if (count) {
        std::string reply = std::to_string(total) + "\n";
        send_all(fd, reply.data(), reply.size());
    }
    ::_exit(0);
}

int listen_inet(int type, uint16_t port) {
    int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("bind");
    if (type == SOCK_STREAM && ::listen(fd, 64) < 0) die("listen");
    return fd;
}

int listen_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(fd, 64) < 0) die("bind unix");
    return fd;
}

void bring_up_lo() {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS");
    ::close(s);
}

// Answers "uid=U gid=G" with its peer's credentials as this namespace sees them.
void tell_peer(int fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ucred cred{};
    socklen_t len = sizeof cred;
    ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    std::string reply = "uid=" + std::to_string(cred.uid) + " gid=" + std::to_string(cred.gid) + "\n";
    send_all(fd, reply.data(), reply.size());
    ::_exit(0);
}

// The stand-in's life: namespaces (a user namespace too when asked, mapped
// by the parent once `ready` says "u" and confirmed on `go`), lo up, a
// private tmpfs on socket_dir with echo.sock and whoami.sock in it, then one
// poll loop accepting (a process per connection) and echoing datagrams.
[[noreturn]] void stand_in(const std::string& socket_dir, int ready, int go, bool user_ns) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (user_ns) {
        char c;
        if (::unshare(CLONE_NEWUSER) < 0) die("unshare user");
        if (::write(ready, "u", 1) != 1 || ::read(go, &c, 1) != 1) die("id maps");
        if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) die("setresuid");
    }
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) die("unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) die("mount private");
    if (::mount("tmpfs", socket_dir.c_str(), "tmpfs", 0, "mode=0755") < 0) die("mount tmpfs");
    bring_up_lo();
    enum { kEcho, kCount, kUnixEcho, kWhoami, kUdp };
    pollfd fds[5] = {{listen_inet(SOCK_STREAM, kEchoPort), POLLIN, 0},
                     {listen_inet(SOCK_STREAM, kCountPort), POLLIN, 0},
                     {listen_unix(socket_dir + "/echo.sock"), POLLIN, 0},
                     {listen_unix(socket_dir + "/whoami.sock"), POLLIN, 0},
                     {listen_inet(SOCK_DGRAM, kUdpPort), POLLIN, 0}};
    ::signal(SIGCHLD, SIG_IGN); // handlers reap themselves
    (void)!::write(ready, "r", 1);
    ::close(ready);
    for (;;) {
        if (::poll(fds, 5, -1) < 0) continue;
        for (int i = kEcho; i <= kWhoami; ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            int c = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            if (::fork() == 0) {
                if (i == kWhoami) tell_peer(c);
                serve_connection(c, i == kCount);
            }
            ::close(c);
        }
        if (fds[kUdp].revents & POLLIN) {
            char buf[65536];
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(fds[kUdp].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n >= 0) ::sendto(fds[kUdp].fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }
}

} // namespace

StandInInstance::StandInInstance(const std::string& socket_dir, bool user_ns) {
    int r[2], g[2];
    if (::pipe2(r, O_CLOEXEC) < 0 || ::pipe2(g, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    UniqueFd ready(r[0]), ready_w(r[1]), go_r(g[0]), go(g[1]);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) stand_in(socket_dir, ready_w.get(), go_r.get(), user_ns);
    pidfd_ = UniqueFd(runtime::sys::pidfd_open(pid_));
    ready_w.reset();
    go_r.reset();
    char c = 0;
    bool ok = static_cast<bool>(pidfd_);
    if (ok && user_ns) {
        std::string proc = "/proc/" + std::to_string(pid_);
        ok = ::read(ready.get(), &c, 1) == 1 && c == 'u' && try_write_file(proc + "/uid_map", "0 1000000 65536\n") == 0 &&
             try_write_file(proc + "/gid_map", "0 1000000 65536\n") == 0 && ::write(go.get(), "g", 1) == 1;
    }
    ok = ok && ::read(ready.get(), &c, 1) == 1 && c == 'r';
    if (!ok) {
        kill();
        throw std::runtime_error("the stand-in instance did not start");
    }
}

void StandInInstance::kill() {
    if (!pidfd_) return;
    runtime::sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
    siginfo_t info;
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED); // ECHILD if reaped already
    pidfd_.reset();
}

} // namespace lodge::test
