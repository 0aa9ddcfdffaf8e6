// systemd integration through libsystemd's sd-daemon calls.
#include "daemon/service_manager.hpp"

#include "common/error.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>

namespace lodge::daemon {

std::optional<int> activated_socket() {
    // unset_environment=1: the variables describe this process only; the
    // monitors lodged forks must not think they were activated too.
    int n = sd_listen_fds(1);
    if (n < 0) throw Error(500, "socket activation: " + std::to_string(n));
    if (n == 0) return std::nullopt;
    if (n != 1)
        throw Error(500, "socket activation passed " + std::to_string(n) +
                             " sockets; lodged takes exactly one (its unix socket)");
    const int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
        throw Error(500, "socket activation passed a socket that is not a listening unix stream socket");
    return fd;
}

void notify_service_manager(const std::string& state) { sd_notify(0, state.c_str()); }

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (::fstat(2, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

} // namespace lodge::daemon
