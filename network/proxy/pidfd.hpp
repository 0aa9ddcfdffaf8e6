// pidfds for start_proxy and lodge-proxy: glibc 2.36's <sys/pidfd.h> lacks
// C linkage in C++, and lodge_network does not link the runtime's wrappers.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace lodge::network::detail {

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

inline int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

} // namespace lodge::network::detail
