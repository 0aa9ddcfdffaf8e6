// Proxy devices (LXD's type=proxy): the endpoint forms and the lodge-proxy
// forwarder's life cycle (start detached, find, stop).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace lodge::network {

struct Endpoint {
    std::string protocol; // "tcp", "udp", "unix"
    // tcp/udp: an IPv4 or IPv6 literal, IPv6 without the brackets it is
    // written in ("udp:[::1]:53" gives "::1"); unix: an absolute path, or
    // "@name" for an abstract socket.
    std::string address;
    uint16_t port = 0; // one port; LXD's ranges and lists are refused
};
// "tcp:127.0.0.1:80", "udp:[::1]:53", "unix:/run/x.sock"; Error(400) naming the value.
Endpoint parse_endpoint(const std::string& s);

struct ProxySpec {
    Endpoint listen, connect;
};
// Error(400); tcp->tcp, udp->udp, unix->unix, and tcp<->unix as LXD allows.
ProxySpec parse_proxy(const std::string& listen, const std::string& connect);

// Starts lodge-proxy detached (double fork, own session, nobody's child),
// listening in the CALLER's netns and connecting inside the netns (and, for
// unix connect paths, the mount ns) of `instance_pid`. Returns once it
// listens: its pid; Error(400, "proxy listen address tcp:... is already in
// use") when bind fails. Writes `pidfile` ("PID\n"). It exits by itself when
// instance_pid's process ends.
pid_t start_proxy(const ProxySpec& spec, pid_t instance_pid, const std::string& pidfile, const std::string& logfile);
// The proxy recorded in pidfile when it is still that lodge-proxy (checks
// /proc/PID/cmdline), else nullopt.
std::optional<pid_t> running_proxy(const std::string& pidfile);
// Ends it (SIGTERM, then SIGKILL after 1 s) and removes the pidfile; no
// error when not running.
void stop_proxy(const std::string& pidfile);
// $LODGE_PROXY, else lodge-proxy beside the running binary.
std::string proxy_binary();

} // namespace lodge::network
