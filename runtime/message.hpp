// One datagram with an optional file descriptor over a SOCK_SEQPACKET unix
// socket: the monitor's control protocol. Kept apart from the client so the
// monitor's small supervising binary links nothing else.
#pragma once

#include "common/fd.hpp"

#include <string>

namespace lodge::runtime {

void send_message(int sock, const std::string& data, int fd = -1);
// Receives one datagram (up to 1 MiB) and the descriptor it carries, if
// any. An empty string means the peer closed.
std::string recv_message(int sock, UniqueFd* fd_out = nullptr);

} // namespace lodge::runtime
