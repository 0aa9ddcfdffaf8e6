#include "common/pidfd.hpp"

#include <poll.h>
#include <signal.h>

#include <cerrno>

namespace lodge {

bool pidfd_exited(int pidfd, int timeout_ms) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n > 0;
}

void pidfd_terminate(int pidfd, int grace_ms) {
    pidfd_send_signal(pidfd, SIGTERM);
    if (pidfd_exited(pidfd, grace_ms)) return;
    pidfd_send_signal(pidfd, SIGKILL);
    pidfd_exited(pidfd, 5000);
}

} // namespace lodge
