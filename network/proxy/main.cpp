// lodge-proxy PID LISTEN CONNECT: one proxy device's forwarder. Listens in
// the network namespace it was started in, then enters the instance's (its
// mount namespace too for a unix connect path) and relays there until the
// instance's process ends or SIGTERM. Reports "ok PID", "busy" (listen
// address in use), "foreign" (not an address of this host) or "error
// MESSAGE" on fd 3 when start_proxy passes one.
#include "common/error.hpp"
#include "common/fd.hpp"
#include "network/proxy.hpp"
#include "network/proxy/endpoint.hpp"
#include "common/pidfd.hpp"
#include "network/proxy/relay.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lodge::network::proxy {

void log_line(const std::string& line) {
    char stamp[32];
    time_t t = ::time(nullptr);
    tm tm{};
    ::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", ::gmtime_r(&t, &tm));
    std::string s = std::string(stamp) + " lodge-proxy[" + std::to_string(::getpid()) + "]: " + line + "\n";
    (void)!::write(2, s.data(), s.size());
}

namespace {

// The listen address cannot be bound for a reason of the caller's: the
// status word that says which.
struct BadListenAddress {
    const char* word;
};

// The listening socket, and for a unix path what removes it at the end: the
// directory (held open, the path is not reachable once in the instance's
// mount namespace) and the inode bind made, so a newer socket at the same
// path is left alone.
struct Listener {
    UniqueFd fd;
    UniqueFd dir;
    std::string name;
    ino_t inode = 0;

    ~Listener() {
        struct stat st;
        if (dir && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode)
            ::unlinkat(dir.get(), name.c_str(), 0);
    }
};

bool unix_path(const Endpoint& e) { return e.protocol == "unix" && e.address[0] == '/'; }

// A socket file nobody listens on (a proxy that was killed) is replaced; a
// live one is a busy address, and anything but a socket is never removed
// (connect reports ECONNREFUSED for those too).
bool stale_socket(const std::string& path, const detail::SocketAddress& a) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISSOCK(st.st_mode)) return false;
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return s && ::connect(s.get(), a.get(), a.length) < 0 && errno == ECONNREFUSED;
}

void listen_on(const Endpoint& e, Listener& l) {
    detail::SocketAddress a = detail::socket_address(e);
    bool datagram = e.protocol == "udp";
    l.fd = UniqueFd(::socket(a.family, (datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!l.fd) throw_errno("socket");
    int one = 1;
    // Rebinding right after a previous proxy on this port ended; a port
    // someone listens on still fails with EADDRINUSE.
    if (e.protocol == "tcp") ::setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r = ::bind(l.fd.get(), a.get(), a.length);
    if (r < 0 && errno == EADDRINUSE && unix_path(e) && stale_socket(e.address, a)) {
        ::unlink(e.address.c_str());
        r = ::bind(l.fd.get(), a.get(), a.length);
    }
    if (r < 0 && errno == EADDRINUSE) throw BadListenAddress{"busy"};
    if (r < 0 && errno == EADDRNOTAVAIL) throw BadListenAddress{"foreign"};
    if (r < 0) throw_errno("bind " + detail::endpoint_str(e));
    if (!datagram && ::listen(l.fd.get(), SOMAXCONN) < 0) throw_errno("listen " + detail::endpoint_str(e));
    if (unix_path(e)) {
        auto slash = e.address.find_last_of('/');
        std::string dir = slash == 0 ? "/" : e.address.substr(0, slash);
        l.dir = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        l.name = e.address.substr(slash + 1);
        struct stat st;
        if (l.dir && ::fstatat(l.dir.get(), l.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) l.inode = st.st_ino;
    }
}

UniqueFd open_ns(pid_t pid, const char* what) {
    std::string path = "/proc/" + std::to_string(pid) + "/" + what;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    return fd;
}

bool same_namespace(int fd, const char* ours) {
    struct stat a, b;
    return ::fstat(fd, &a) == 0 && ::stat(ours, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Enters the instance: its network namespace always; for a unix socket path
// also its user namespace (as its root, LXD's security.uid/gid default, so
// the service sees root as its peer and the instance's file permissions
// apply), its mount namespace and its root, so the path resolves as the
// instance sees it (its own symlinks cannot lead out to the host's files).
// Done while the proxy is single-threaded, as setns(2) requires for these.
void enter_instance(pid_t pid, bool mounts) {
    UniqueFd net = open_ns(pid, "ns/net");
    UniqueFd user, mnt, root;
    if (mounts) {
        user = open_ns(pid, "ns/user");
        if (same_namespace(user.get(), "/proc/self/ns/user")) user.reset();
        mnt = open_ns(pid, "ns/mnt");
        std::string path = "/proc/" + std::to_string(pid) + "/root";
        root = UniqueFd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root) throw_errno("open " + path);
    }
    // First, while this process is root of every namespace: its capabilities
    // in the instance's user namespace cover the setns calls after it.
    if (user && ::setns(user.get(), CLONE_NEWUSER) < 0) throw_errno("setns into the instance's user namespace");
    if (::setns(net.get(), CLONE_NEWNET) < 0) throw_errno("setns into the instance's network namespace");
    if (mounts) {
        if (::setns(mnt.get(), CLONE_NEWNS) < 0) throw_errno("setns into the instance's mount namespace");
        if (::fchdir(root.get()) < 0 || ::chroot(".") < 0 || ::chdir("/") < 0) throw_errno("chroot into the instance's root");
    }
    if (user) {
        // Refused where the instance denies setgroups; the host groups kept
        // then are unmapped there and grant nothing.
        ::setgroups(0, nullptr);
        if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) throw_errno("becoming root of the instance's user namespace");
    }
}

// SIGTERM, SIGINT and SIGHUP as a readable fd; defaults first, since a
// starter that ignores SIGTERM (lodged as it stops) would pass that on.
UniqueFd signals() {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
    // Blocked: only the signalfd sees them.
    ::sigprocmask(SIG_SETMASK, &set, nullptr);
    UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!fd) throw_errno("signalfd");
    return fd;
}

// A connection holds six descriptors (two sockets, two pipes): the soft
// limit of 1024 would cap a proxy at about 170 connections.
void raise_fd_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

class Status {
public:
    Status() : fd_(::fcntl(3, F_GETFD) >= 0 ? 3 : 2) {}
    void say(const std::string& word) {
        std::string s = word + "\n";
        (void)!::write(fd_, s.data(), s.size());
        if (fd_ == 3) ::close(3);
        fd_ = -1;
    }
    bool said() const { return fd_ < 0; }

private:
    int fd_;
};

int run(int argc, char** argv) {
    Status status;
    if (argc != 4) {
        status.say("error usage: lodge-proxy PID LISTEN CONNECT");
        return 2;
    }
    try {
        pid_t pid = static_cast<pid_t>(std::atoi(argv[1]));
        ProxySpec spec = parse_proxy(argv[2], argv[3]);
        detail::SocketAddress target = detail::socket_address(spec.connect);
        UniqueFd sigfd = signals();
        raise_fd_limit();
        UniqueFd instance(pidfd_open(pid));
        if (!instance) throw_errno("pidfd_open " + std::to_string(pid));
        Listener listener;
        listen_on(spec.listen, listener);
        enter_instance(pid, unix_path(spec.connect));
        status.say("ok " + std::to_string(::getpid()));
        log_line("relaying " + std::string(argv[2]) + " to " + argv[3] + " in the network namespace of pid " + argv[1]);
        StopFds stop{sigfd.get(), instance.get()};
        if (spec.listen.protocol == "udp")
            serve_datagram(listener.fd.get(), target, stop);
        else
            serve_stream(listener.fd.get(), target, stop);
        log_line("stopping");
        return 0;
    } catch (const BadListenAddress& e) {
        status.say(e.word);
        std::string why = e.word == std::string("busy") ? "in use" : "not an address of this host";
        log_line(std::string("cannot listen on ") + argv[2] + ": " + why);
    } catch (const std::exception& e) {
        if (!status.said()) status.say(std::string("error ") + e.what());
        log_line(e.what());
    }
    return 1;
}

} // namespace

} // namespace lodge::network::proxy

int main(int argc, char** argv) { return lodge::network::proxy::run(argc, argv); }
