// Proxy devices end to end: lodge-proxy between this test's network
// namespace and a stand-in instance (a process in network and mount
// namespaces of its own), the way lodged runs it for a running instance.
#include "network/proxy.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "runtime/syscalls.hpp"
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/proxy_instance.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

namespace lodge::test {
namespace {

namespace net = lodge::network;

// A scratch directory with the pidfiles, logs, and the stand-in's socket
// directory; every proxy started through it is stopped at the end.
class Scratch {
public:
    Scratch() {
        char tmpl[] = "/tmp/lodge-proxy-test.XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
        dir_ = tmpl;
        ::chmod(tmpl, 0755); // reachable for the root of a stand-in with a user namespace
        std::filesystem::create_directory(dir_ + "/instance-sockets");
    }
    ~Scratch() {
        for (const auto& p : pidfiles_) net::stop_proxy(p);
        reap_orphans();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    std::string pidfile(const std::string& name) {
        pidfiles_.push_back(path(name + ".pid"));
        return pidfiles_.back();
    }

private:
    std::string dir_;
    std::vector<std::string> pidfiles_;
};

std::string tcp(int port) { return "tcp:127.0.0.1:" + std::to_string(port); }
std::string udp(int port) { return "udp:127.0.0.1:" + std::to_string(port); }

UniqueFd connect_to(const net::Endpoint& e, int type = SOCK_STREAM) {
    UniqueFd fd;
    if (e.protocol == "unix") {
        fd = UniqueFd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, e.address.c_str(), sizeof a.sun_path - 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return UniqueFd();
    } else {
        fd = UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(e.port);
        ::inet_pton(AF_INET, e.address.c_str(), &a.sin_addr);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return UniqueFd();
    }
    // A relay that loses bytes fails the test instead of hanging it.
    timeval tv{20, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

UniqueFd connect_to(const std::string& endpoint) { return connect_to(net::parse_endpoint(endpoint)); }

std::string read_n(int fd, size_t n) {
    std::string s(n, '\0');
    size_t got = 0;
    while (got < n) {
        ssize_t m = ::read(fd, s.data() + got, n - got);
        if (m <= 0) break;
        got += static_cast<size_t>(m);
    }
    s.resize(got);
    return s;
}

std::string read_to_end(int fd) {
    std::string s;
    char buf[4096];
    ssize_t m;
    while ((m = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(m));
    return s;
}

pid_t start(Scratch& s, const std::string& name, const std::string& listen, const std::string& connect, const StandInInstance& i) {
    return net::start_proxy(net::parse_proxy(listen, connect), i.pid(), s.pidfile(name), s.path(name + ".log"));
}

bool port_free(int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd.get(), 1) == 0;
}

TEST(ProxyTcp, RelaysBothWaysAndPassesHalfCloses) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int echo = free_loopback_port(), count = free_loopback_port();
    start(s, "echo", tcp(echo), tcp(kEchoPort), instance);
    start(s, "count", tcp(count), tcp(kCountPort), instance);

    UniqueFd c = connect_to(tcp(echo));
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "hello", 5));
    EXPECT_EQ(read_n(c.get(), 5), "hello");
    ASSERT_TRUE(send_all(c.get(), " again", 6));
    EXPECT_EQ(read_n(c.get(), 6), " again");
    // Our end of stream reaches the server, whose own end comes back.
    ::shutdown(c.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(c.get()), "");

    // The server answers only once it has seen our end of stream, over the
    // half of the connection that is still open.
    UniqueFd d = connect_to(tcp(count));
    ASSERT_TRUE(d);
    ASSERT_TRUE(send_all(d.get(), "hello world", 11));
    ::shutdown(d.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(d.get()), "11\n");
}

TEST(ProxyTcp, LargeTransferArrivesWhole) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    start(s, "echo", tcp(port), tcp(kEchoPort), instance);
    UniqueFd c = connect_to(tcp(port));
    ASSERT_TRUE(c);

    constexpr size_t kTotal = 64 << 20, kBlock = 1 << 20;
    std::string sent_hash;
    std::thread sender([&] {
        Sha256 sha;
        std::string block(kBlock, '\0');
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (size_t done = 0; done < kTotal; done += kBlock) {
            for (size_t i = 0; i + 8 <= kBlock; i += 8) { // xorshift: no pattern a relay could get right by luck
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                std::memcpy(block.data() + i, &x, 8);
            }
            sha.update(block);
            if (!send_all(c.get(), block.data(), block.size())) break;
        }
        ::shutdown(c.get(), SHUT_WR);
        sent_hash = sha.hex();
    });
    Sha256 sha;
    size_t received = 0;
    std::string buf(1 << 20, '\0');
    ssize_t n;
    while ((n = ::read(c.get(), buf.data(), buf.size())) > 0) {
        sha.update(buf.data(), static_cast<size_t>(n));
        received += static_cast<size_t>(n);
    }
    sender.join();
    EXPECT_EQ(received, kTotal);
    EXPECT_EQ(sha.hex(), sent_hash);
}

TEST(ProxyTcp, ManyConnectionsAtOnce) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    {
        // Started with the usual soft limit of 1024 descriptors, which it
        // raises: at six per connection it would hold about 170.
        rlimit ours{};
        ::getrlimit(RLIMIT_NOFILE, &ours);
        rlimit low = ours;
        low.rlim_cur = std::min<rlim_t>(1024, ours.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &low);
        struct Restore {
            rlimit r;
            ~Restore() { ::setrlimit(RLIMIT_NOFILE, &r); }
        } restore{ours};
        start(s, "echo", tcp(port), tcp(kEchoPort), instance);
    }
    std::vector<UniqueFd> conns;
    for (int i = 0; i < 300; ++i) {
        conns.push_back(connect_to(tcp(port)));
        ASSERT_TRUE(conns.back()) << "connection " << i;
        std::string m = std::to_string(i) + ";";
        ASSERT_TRUE(send_all(conns.back().get(), m.data(), m.size()));
    }
    for (int i = 0; i < 300; ++i) {
        std::string m = std::to_string(i) + ";";
        EXPECT_EQ(read_n(conns[i].get(), m.size()), m);
    }
}

TEST(ProxyTcp, SecondProxyOnTheSameAddressIsRefused) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    pid_t first = start(s, "first", tcp(port), tcp(kEchoPort), instance);
    try {
        start(s, "second", tcp(port), tcp(kCountPort), instance);
        ADD_FAILURE() << "a second proxy on " << tcp(port) << " started";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(std::string(e.what()), "proxy listen address " + tcp(port) + " is already in use");
    }
    EXPECT_FALSE(net::running_proxy(s.path("second.pid")));
    EXPECT_EQ(net::running_proxy(s.path("first.pid")), first);
    UniqueFd c = connect_to(tcp(port));
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "x", 1));
    EXPECT_EQ(read_n(c.get(), 1), "x");
}

TEST(ProxyTcp, ListenAddressNotOnThisHostIsRefused) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    // TEST-NET-3: never an address of a host.
    try {
        start(s, "foreign", "tcp:203.0.113.7:8080", tcp(kEchoPort), instance);
        ADD_FAILURE() << "a proxy started on an address this host does not have";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(std::string(e.what()), "proxy listen address tcp:203.0.113.7:8080 is not an address of this host");
    }
    EXPECT_FALSE(net::running_proxy(s.path("foreign.pid")));
}

TEST(ProxyUdp, EchoesEachClientsDatagrams) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    start(s, "udp", udp(port), udp(kUdpPort), instance);
    UniqueFd a = connect_to(net::parse_endpoint(udp(port)), SOCK_DGRAM);
    UniqueFd b = connect_to(net::parse_endpoint(udp(port)), SOCK_DGRAM);
    ASSERT_TRUE(a && b);
    for (int round = 0; round < 3; ++round) {
        std::string ma = "from a " + std::to_string(round), mb = "from b, longer " + std::to_string(round);
        ASSERT_EQ(::send(a.get(), ma.data(), ma.size(), 0), static_cast<ssize_t>(ma.size()));
        ASSERT_EQ(::send(b.get(), mb.data(), mb.size(), 0), static_cast<ssize_t>(mb.size()));
        char buf[256];
        ssize_t n = ::recv(b.get(), buf, sizeof buf, 0);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), mb);
        n = ::recv(a.get(), buf, sizeof buf, 0);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), ma);
    }
}

TEST(ProxyUnix, UnixListenerToTcpInTheInstance) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    std::string listen = "unix:" + s.path("web.sock");
    start(s, "unix", listen, tcp(kEchoPort), instance);
    UniqueFd c = connect_to(listen);
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "over unix", 9));
    EXPECT_EQ(read_n(c.get(), 9), "over unix");
    ::shutdown(c.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(c.get()), "");
    c.reset();
    net::stop_proxy(s.path("unix.pid"));
    // Its socket file goes with it.
    EXPECT_FALSE(std::filesystem::exists(s.path("web.sock")));
}

TEST(ProxyUnix, StaleSocketFileIsReplacedALiveOneIsInUse) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    std::string path = s.path("web.sock");
    // What a killed proxy leaves: a socket file nobody listens on.
    {
        UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        net::Endpoint e = net::parse_endpoint("unix:" + path);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, e.address.c_str(), sizeof a.sun_path - 1);
        ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
    ASSERT_TRUE(std::filesystem::is_socket(path));
    start(s, "unix", "unix:" + path, tcp(kEchoPort), instance);
    UniqueFd c = connect_to("unix:" + path);
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "y", 1));
    EXPECT_EQ(read_n(c.get(), 1), "y");
    try {
        start(s, "again", "unix:" + path, tcp(kEchoPort), instance);
        ADD_FAILURE() << "a second proxy on " << path << " started";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(std::string(e.what()), "proxy listen address unix:" + path + " is already in use");
    }
    // A file that is not a socket is in the way, never removed.
    std::string file = s.path("notes.txt");
    write_file_atomic(file, "keep me", 0644);
    EXPECT_THROW(start(s, "file", "unix:" + file, tcp(kEchoPort), instance), Error);
    EXPECT_EQ(read_file(file), "keep me");
}

TEST(ProxyUnix, TcpToASocketOnlyTheInstanceSees) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    // The instance's tmpfs hides echo.sock from this mount namespace: the
    // proxy must resolve the path inside the instance's.
    ASSERT_FALSE(std::filesystem::exists(s.path("instance-sockets/echo.sock")));
    int port = free_loopback_port();
    start(s, "tounix", tcp(port), "unix:" + s.path("instance-sockets/echo.sock"), instance);
    UniqueFd c = connect_to(tcp(port));
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "into the instance", 17));
    EXPECT_EQ(read_n(c.get(), 17), "into the instance");
}

TEST(ProxyUnix, ConnectsAsTheInstancesRoot) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"), true);
    int port = free_loopback_port();
    start(s, "whoami", tcp(port), "unix:" + s.path("instance-sockets/whoami.sock"), instance);
    UniqueFd c = connect_to(tcp(port));
    ASSERT_TRUE(c);
    // Host root would be nobody (65534) there, as LXD's forkproxy avoids.
    EXPECT_EQ(read_to_end(c.get()), "uid=0 gid=0\n");
}

TEST(ProxyLifecycle, RunsDetachedAndStopFreesThePort) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    // Inheritable, as a careless daemon's fds would be.
    UniqueFd ours(::open(s.path("ours").c_str(), O_RDWR | O_CREAT, 0600));
    pid_t pid = start(s, "web", tcp(port), tcp(kEchoPort), instance);
    EXPECT_EQ(net::running_proxy(s.path("web.pid")), pid);
    EXPECT_EQ(read_file(s.path("web.pid")), std::to_string(pid) + "\n");
    // Not in our session (a terminal hangup of the starter's does not reach
    // it), not a session leader (it can never get a terminal), nothing of
    // ours open.
    EXPECT_NE(::getsid(pid), ::getsid(0));
    EXPECT_NE(::getsid(pid), pid);
    for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        EXPECT_NE(std::filesystem::read_symlink(fd.path(), ec).string(), s.path("ours"));
    }
    EXPECT_FALSE(port_free(port));
    {
        UniqueFd c = connect_to(tcp(port));
        ASSERT_TRUE(c);
    }
    net::stop_proxy(s.path("web.pid"));
    EXPECT_FALSE(net::running_proxy(s.path("web.pid")));
    EXPECT_FALSE(std::filesystem::exists(s.path("web.pid")));
    EXPECT_TRUE(port_free(port));
    net::stop_proxy(s.path("web.pid")); // stopping it twice is no error
    // The same address can be proxied again at once.
    EXPECT_GT(start(s, "again", tcp(port), tcp(kEchoPort), instance), 0);
}

TEST(ProxyLifecycle, OutlivesAStarterKilledWithSigkill) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int port = free_loopback_port();
    std::string pidfile = s.pidfile("web"), log = s.path("web.log");
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd said(p[0]), say(p[1]);
    // The starter, as lodged would be: starts the proxy, then waits to be killed.
    pid_t starter = ::fork();
    ASSERT_GE(starter, 0);
    if (starter == 0) {
        try {
            net::start_proxy(net::parse_proxy(tcp(port), tcp(kEchoPort)), instance.pid(), pidfile, log);
            (void)!::write(say.get(), "s", 1);
        } catch (...) {
            ::_exit(1);
        }
        for (;;) ::pause();
    }
    UniqueFd starter_fd(runtime::sys::pidfd_open(starter));
    say.reset();
    char c = 0;
    bool started = ::read(said.get(), &c, 1) == 1;
    runtime::sys::pidfd_send_signal(starter_fd.get(), SIGKILL);
    siginfo_t info;
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(starter_fd.get()), &info, WEXITED);
    ASSERT_TRUE(started);
    ASSERT_TRUE(net::running_proxy(pidfile));
    UniqueFd conn = connect_to(tcp(port));
    ASSERT_TRUE(conn);
    ASSERT_TRUE(send_all(conn.get(), "still here", 10));
    EXPECT_EQ(read_n(conn.get(), 10), "still here");
}

TEST(ProxyLifecycle, EndsWhenTheInstanceEnds) {
    Scratch s;
    StandInInstance instance(s.path("instance-sockets"));
    int tcp_port = free_loopback_port(), udp_port = free_loopback_port();
    start(s, "tcp", tcp(tcp_port), tcp(kEchoPort), instance);
    start(s, "udp", udp(udp_port), udp(kUdpPort), instance);
    UniqueFd open_connection = connect_to(tcp(tcp_port));
    ASSERT_TRUE(open_connection);
    pid_t dead = instance.pid();
    instance.kill();
    EXPECT_TRUE(wait_until([&] { return !net::running_proxy(s.path("tcp.pid")) && !net::running_proxy(s.path("udp.pid")); }, 10));
    EXPECT_TRUE(port_free(tcp_port));
    EXPECT_EQ(read_to_end(open_connection.get()), ""); // its connections end with it
    try {
        net::start_proxy(net::parse_proxy(tcp(tcp_port), tcp(kEchoPort)), dead, s.pidfile("late"), s.path("late.log"));
        ADD_FAILURE() << "a proxy started for an ended instance";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not running"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace lodge::test
