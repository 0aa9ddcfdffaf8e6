// Proxy devices: LXD's endpoint forms, and starting, finding and stopping
// the lodge-proxy forwarder of one device.
#include "network/proxy.hpp"

#include "common/detached.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "network/proxy/endpoint.hpp"
#include "common/pidfd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace lodge::network {

namespace {

[[noreturn]] void bad(const std::string& role, const std::string& s, const std::string& why) {
    throw Error(400, role + " '" + s + "' " + why);
}

std::optional<uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

Endpoint parse_unix(const std::string& role, const std::string& s, const std::string& path) {
    if (path.empty()) bad(role, s, "has no socket path");
    if (path[0] != '/' && path[0] != '@') bad(role, s, "needs an absolute socket path (or @name for an abstract socket)");
    if (path == "@") bad(role, s, "has an empty abstract socket name");
    if (path.size() >= sizeof(sockaddr_un::sun_path)) bad(role, s, "is too long for a unix socket path (at most 107 bytes)");
    return Endpoint{"unix", path, 0};
}

Endpoint parse_inet(const std::string& role, const std::string& s, const std::string& protocol, const std::string& rest) {
    std::string host, port;
    in6_addr a6;
    in_addr a4;
    if (!rest.empty() && rest[0] == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) bad(role, s, "has an IPv6 address without its closing ']'");
        host = rest.substr(1, close - 1);
        if (close + 1 >= rest.size() || rest[close + 1] != ':') bad(role, s, "needs a port after the address (ADDRESS:PORT)");
        port = rest.substr(close + 2);
        if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) bad(role, s, "has an invalid IPv6 address '" + host + "'");
    } else {
        auto colon = rest.rfind(':');
        if (colon == std::string::npos) bad(role, s, "needs a port after the address (ADDRESS:PORT)");
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.empty()) bad(role, s, "has no address before the port");
        if (host.find(':') != std::string::npos) bad(role, s, "has an IPv6 address not written in brackets ([ADDRESS]:PORT)");
        if (::inet_pton(AF_INET, host.c_str(), &a4) != 1)
            bad(role, s, "has an invalid address '" + host + "' (an IPv4 or [IPv6] literal, no host names)");
    }
    if (port.find_first_of("-,") != std::string::npos)
        bad(role, s, "names several ports; lodge forwards one port per proxy device");
    auto p = parse_port(port);
    if (!p) bad(role, s, "has an invalid port '" + port + "' (1-65535)");
    return Endpoint{protocol, host, *p};
}

Endpoint parse_as(const std::string& role, const std::string& s) {
    // Not quoted: the message would end at the NUL.
    if (s.find('\0') != std::string::npos) throw Error(400, role + " contains a NUL byte");
    auto colon = s.find(':');
    if (colon == std::string::npos) bad(role, s, "must be PROTOCOL:ADDRESS (tcp:, udp: or unix:)");
    std::string protocol = s.substr(0, colon), rest = s.substr(colon + 1);
    if (protocol == "unix") return parse_unix(role, s, rest);
    if (protocol == "tcp" || protocol == "udp") return parse_inet(role, s, protocol, rest);
    bad(role, s, "has an unknown protocol '" + protocol + "' (tcp, udp or unix)");
}

bool is_lodge_proxy(pid_t pid) {
    std::string cmdline;
    try {
        cmdline = read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
    } catch (const Error&) {
        return false; // gone while we read
    }
    std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    return argv0.substr(argv0.find_last_of('/') + 1) == "lodge-proxy";
}

void kill_proxy(pid_t pid) {
    UniqueFd pfd(pidfd_open(pid));
    if (pfd && is_lodge_proxy(pid)) pidfd_send_signal(pfd.get(), SIGKILL);
}

} // namespace

namespace detail {

std::string endpoint_str(const Endpoint& e) {
    if (e.protocol == "unix") return "unix:" + e.address;
    if (e.address.find(':') != std::string::npos) return e.protocol + ":[" + e.address + "]:" + std::to_string(e.port);
    return e.protocol + ":" + e.address + ":" + std::to_string(e.port);
}

SocketAddress socket_address(const Endpoint& e) {
    SocketAddress a;
    if (e.protocol == "unix") {
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
        un->sun_family = a.family = AF_UNIX;
        if (e.address.size() >= sizeof un->sun_path) throw Error(400, "unix socket path too long: " + e.address);
        std::memcpy(un->sun_path, e.address.data(), e.address.size());
        // An abstract name is not NUL-terminated: its length is the address's.
        if (e.address[0] == '@') {
            un->sun_path[0] = '\0';
            a.length = offsetof(sockaddr_un, sun_path) + e.address.size();
        } else {
            a.length = offsetof(sockaddr_un, sun_path) + e.address.size() + 1;
        }
    } else if (e.address.find(':') != std::string::npos) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        in6->sin6_family = a.family = AF_INET6;
        in6->sin6_port = htons(e.port);
        if (::inet_pton(AF_INET6, e.address.c_str(), &in6->sin6_addr) != 1) throw Error(400, "invalid IPv6 address " + e.address);
        a.length = sizeof *in6;
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
        in->sin_family = a.family = AF_INET;
        in->sin_port = htons(e.port);
        if (::inet_pton(AF_INET, e.address.c_str(), &in->sin_addr) != 1) throw Error(400, "invalid IPv4 address " + e.address);
        a.length = sizeof *in;
    }
    return a;
}

} // namespace detail

Endpoint parse_endpoint(const std::string& s) { return parse_as("proxy address", s); }

ProxySpec parse_proxy(const std::string& listen, const std::string& connect) {
    ProxySpec spec{parse_as("proxy listen address", listen), parse_as("proxy connect address", connect)};
    bool streams = spec.listen.protocol != "udp" && spec.connect.protocol != "udp";
    if (spec.listen.protocol != spec.connect.protocol && !streams)
        throw Error(400, "proxy listen address '" + listen + "' and connect address '" + connect +
                             "' use different protocols; only tcp and unix can be mixed");
    return spec;
}

std::string proxy_binary() {
    if (const char* env = std::getenv("LODGE_PROXY"); env && *env) return env;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) throw_errno("readlink /proc/self/exe");
    self[n] = 0;
    std::string dir(self);
    return dir.substr(0, dir.find_last_of('/')) + "/lodge-proxy";
}

pid_t start_proxy(const ProxySpec& given, pid_t instance_pid, const std::string& pidfile, const std::string& logfile) {
    std::string listen = detail::endpoint_str(given.listen), connect = detail::endpoint_str(given.connect);
    parse_proxy(listen, connect); // a spec built by hand gets the same checks
    // Held from here to the end: if the instance is still alive once the
    // proxy has opened it by pid, the proxy opened this process and not a
    // later one that got the pid.
    UniqueFd instance(pidfd_open(instance_pid));
    if (!instance) {
        if (errno == ESRCH)
            throw Error(500, "instance process " + std::to_string(instance_pid) + " is not running; cannot start its proxy");
        throw_errno("pidfd_open " + std::to_string(instance_pid));
    }
    std::string binary = proxy_binary(), pid_arg = std::to_string(instance_pid);
    // Detached, so it outlives lodged.
    std::string reply = run_detached(binary, {"lodge-proxy", pid_arg, listen, connect}, logfile, false);
    while (!reply.empty() && reply.back() == '\n') reply.pop_back();
    pid_t pid = 0;
    if (reply == "busy") throw Error(400, "proxy listen address " + listen + " is already in use");
    if (reply == "foreign") throw Error(400, "proxy listen address " + listen + " is not an address of this host");
    if (std::sscanf(reply.c_str(), "ok %d", &pid) != 1 || pid <= 0) {
        if (reply.rfind("error ", 0) == 0) throw Error(500, "proxy " + listen + " -> " + connect + ": " + reply.substr(6));
        throw Error(500, "lodge-proxy exited without a word; see " + logfile);
    }
    Reverter revert;
    revert.add([pid] { kill_proxy(pid); });
    if (pidfd_exited(instance.get(), 0))
        throw Error(500, "instance process " + pid_arg + " ended while its proxy " + listen + " started");
    write_file_atomic(pidfile, std::to_string(pid) + "\n", 0644);
    revert.success();
    return pid;
}

std::optional<pid_t> running_proxy(const std::string& pidfile) {
    std::string text;
    try {
        text = read_file_if_exists(pidfile);
    } catch (const Error&) {
        return std::nullopt;
    }
    int pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc() || pid <= 0 || (end != text.data() + text.size() && *end != '\n')) return std::nullopt;
    if (!is_lodge_proxy(pid)) return std::nullopt;
    return pid;
}

void stop_proxy(const std::string& pidfile) {
    if (auto pid = running_proxy(pidfile)) {
        // Checked again with the pidfd held, so a pid reused in between is
        // never signalled.
        UniqueFd pfd(pidfd_open(*pid));
        if (pfd && is_lodge_proxy(*pid)) pidfd_terminate(pfd.get(), 1000);
    }
    if (::unlink(pidfile.c_str()) < 0 && errno != ENOENT) throw_errno("unlink " + pidfile);
}

} // namespace lodge::network
