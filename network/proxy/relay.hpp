// lodge-proxy's two forwarding loops: streams (tcp, unix) and datagrams
// (udp). Both run in the instance's network namespace with the listening
// socket made in the starter's, and return once `stop_fds` has a readable fd
// (SIGTERM's signalfd, the instance's pidfd).
#pragma once

#include "network/proxy/endpoint.hpp"

#include <array>

namespace lodge::network::proxy {

using StopFds = std::array<int, 2>;

// Accepts on listen_fd and relays each connection to `target`, all in one
// epoll loop; half-closes are passed on.
void serve_stream(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds);
// One connected socket per client address toward `target`; replies go back
// to the client they came for; clients idle for a minute are forgotten.
void serve_datagram(int listen_fd, const detail::SocketAddress& target, const StopFds& stop_fds);

// One line on stderr (the proxy's log file).
void log_line(const std::string& line);

} // namespace lodge::network::proxy
