// What lodge-proxy and start_proxy share beyond network/proxy.hpp: an
// endpoint written back as text and turned into a socket address.
#pragma once

#include "network/proxy.hpp"

#include <sys/socket.h>

namespace lodge::network::detail {

// The endpoint as LXD writes it: "tcp:127.0.0.1:80", "udp:[::1]:53", "unix:/x".
std::string endpoint_str(const Endpoint& e);

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
SocketAddress socket_address(const Endpoint& e);

} // namespace lodge::network::detail
