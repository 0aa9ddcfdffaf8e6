// Talking to a container's lodge-monitor over its control socket
// (<run dir>/<name>/monitor.sock, SOCK_SEQPACKET): one request datagram, one
// JSON reply datagram, sometimes with a file descriptor attached. Also
// launching a monitor, which creates the container.
#pragma once

#include "common/fd.hpp"
#include "runtime/config.hpp"
#include "runtime/message.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace lodge::runtime {

std::string container_run_dir(const std::string& run_dir, const std::string& name);
std::string monitor_socket_path(const std::string& run_dir, const std::string& name);
// The file, written at start, listing the container's cgroup directories
// one per line (exec joins them).
std::string cgroup_list_path(const std::string& run_dir, const std::string& name);

class MonitorClient {
public:
    // Connects to the monitor of `name`; throws Error(404) when no monitor
    // answers (the container is not running).
    static MonitorClient connect(const std::string& run_dir, const std::string& name);

    // Sends a request and waits for its reply. A reply with "error" is
    // thrown as lodge::Error.
    nlohmann::json call(const std::string& request);
    // The same, also receiving the descriptor the reply carries.
    nlohmann::json call(const std::string& request, UniqueFd& fd_out);

    // Sends a request whose reply is raw bytes, not JSON (console-log).
    std::string call_raw(const std::string& request);

    int fd() const { return sock_.get(); }
    // The connection itself, for protocols that go on past one reply.
    static UniqueFd release(MonitorClient&& c) { return std::move(c.sock_); }

private:
    explicit MonitorClient(UniqueFd s) : sock_(std::move(s)) {}
    UniqueFd sock_;
};

struct Launched {
    pid_t init_pid;
    pid_t monitor_pid;
};

// Writes cfg to the run directory and starts a lodge-monitor for it (found
// beside the running executable, or at $LODGE_MONITOR), detached in its own
// session so it outlives the caller. Returns once init has been exec'd, or
// throws the monitor's error. Refuses (409) when the container runs.
Launched launch_container(const ContainerConfig& cfg, const std::string& run_dir);

} // namespace lodge::runtime
