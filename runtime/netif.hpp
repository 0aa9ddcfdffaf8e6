// Network interfaces the runtime itself touches: those the starter hands
// over (moved into the container's network namespace before init runs) and
// the container's loopback. Plain rtnetlink and ioctls, as the monitor is a
// static binary and Debian ships no static libmnl.
#pragma once

#include <string>

namespace lodge::runtime {

// Moves the interface `host_name` of the calling thread's network namespace
// into the namespace `netns_fd`, renamed `new_name` there (one request: the
// kernel renames while it moves). Error naming the interface when it fails.
void move_interface(const std::string& host_name, int netns_fd, const std::string& new_name);

// Brings `lo` up in the calling thread's network namespace.
void loopback_up();

} // namespace lodge::runtime
