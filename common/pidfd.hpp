// Processes by pidfd (glibc 2.36's <sys/pidfd.h> lacks C linkage in C++):
// a pid reused by another process is never signalled or waited for.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace lodge {

inline int pidfd_open(pid_t pid, unsigned flags = 0) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

inline int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Whether the process has ended within timeout_ms (0: now).
bool pidfd_exited(int pidfd, int timeout_ms);

// SIGTERM, then SIGKILL when it has not ended within grace_ms; returns once
// it has ended (or 5 s after the SIGKILL).
void pidfd_terminate(int pidfd, int grace_ms);

} // namespace lodge
