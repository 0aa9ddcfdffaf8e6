// A stand-in for a running instance in the proxy tests: a process in network
// and mount namespaces (and optionally a user namespace) of its own, serving
// echo, count and whoami endpoints the way an instance's services would.
#pragma once

#include "common/fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace lodge::test {

// Inside the stand-in instance (its own network namespace, so fixed ports).
constexpr uint16_t kEchoPort = 7001;  // echoes until end of stream, then closes
constexpr uint16_t kCountPort = 7002; // reads to end of stream, then answers "N\n"
constexpr uint16_t kUdpPort = 7003;   // echoes datagrams
// Unix sockets in its private tmpfs on socket_dir: echo.sock (echoes) and
// whoami.sock (answers "uid=U gid=G" with its peer's credentials there).

// Killed (by its pidfd) however the test ends. With user_ns its root is host
// uid 1000000, as lodge maps containers.
class StandInInstance {
public:
    explicit StandInInstance(const std::string& socket_dir, bool user_ns = false);
    ~StandInInstance() { kill(); }
    StandInInstance(const StandInInstance&) = delete;
    StandInInstance& operator=(const StandInInstance&) = delete;
    void kill();
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
};

// Writes all of p; false on an error (no SIGPIPE).
bool send_all(int fd, const char* p, size_t n);

} // namespace lodge::test
