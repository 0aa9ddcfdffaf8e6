// One datagram with an optional file descriptor over a SOCK_SEQPACKET unix
// socket: the monitor's control protocol. Kept apart from the client so the
// monitor's small supervising binary links nothing else.
#pragma once

#include "common/fd.hpp"

#include <string>
#include <vector>

namespace lodge::runtime {

void send_message(int sock, const std::string& data, int fd = -1);
void send_message(int sock, const std::string& data, const std::vector<int>& fds);
// Receives one datagram (up to 1 MiB) and the descriptor it carries, if
// any. An empty string means the peer closed.
std::string recv_message(int sock, UniqueFd* fd_out = nullptr);
// The same with up to 4 descriptors.
std::string recv_message(int sock, std::vector<UniqueFd>& fds_out);

} // namespace lodge::runtime
