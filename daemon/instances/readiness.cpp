// Asking a guest whether it has booted. The systemd question goes to the
// guest's D-Bus system bus through /proc/<init>/root, from a short-lived
// child that has joined the container's user namespace: the bus
// authenticates peers by uid, and host root is nobody inside.
#include "daemon/instances/readiness.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstring>

namespace lodge::daemon {

namespace {

std::string comm_of(pid_t pid) {
    auto comm = read_file_if_exists("/proc/" + std::to_string(pid) + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm;
}

// The SystemState property of the guest's systemd, or "" when the bus does
// not answer (not up yet). Runs in a child process: setns into a user
// namespace needs a single-threaded caller.
std::string systemd_state(pid_t init_pid) {
    int pipe_fds[2];
    check(::pipe2(pipe_fds, O_CLOEXEC), "pipe");
    UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
    const pid_t child = ::fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        const auto proc = "/proc/" + std::to_string(init_pid);
        const int userns = ::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
        if (userns < 0 || ::setns(userns, CLONE_NEWUSER) != 0) ::_exit(1);
        if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) ::_exit(1);
        sd_bus* bus = nullptr;
        if (sd_bus_new(&bus) < 0) ::_exit(1);
        const auto address = "unix:path=" + proc + "/root/run/dbus/system_bus_socket";
        sd_bus_set_address(bus, address.c_str());
        sd_bus_set_bus_client(bus, 1);
        if (sd_bus_start(bus) < 0) ::_exit(2);
        char* state = nullptr;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "SystemState", &error, &state) < 0)
            ::_exit(3);
        (void)!::write(w.get(), state, std::strlen(state));
        ::_exit(0);
    }
    w.reset();
    // A bus that accepts but never answers must not hold the caller.
    std::string out;
    pollfd p{r.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) > 0) out = read_to_eof(r.get());
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return out;
}

// True when no process of the container is running or in disk sleep:
// every pid whose pid namespace is init's, found through /proc.
bool processes_idle(pid_t init_pid) {
    char ns[64] = {};
    const auto link = "/proc/" + std::to_string(init_pid) + "/ns/pid";
    if (::readlink(link.c_str(), ns, sizeof ns - 1) < 0) return false;
    DIR* d = ::opendir("/proc");
    if (!d) return false;
    bool idle = true;
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char other[64] = {};
        const auto base = std::string("/proc/") + e->d_name;
        if (::readlink((base + "/ns/pid").c_str(), other, sizeof other - 1) < 0 || std::strcmp(ns, other) != 0)
            continue;
        // The state is the field after the parenthesised command name.
        const auto stat = read_file_if_exists(base + "/stat");
        const auto close = stat.rfind(')');
        if (close == std::string::npos || close + 2 >= stat.size()) continue;
        const char state = stat[close + 2];
        if (state == 'R' || state == 'D') {
            idle = false;
            break;
        }
    }
    ::closedir(d);
    return idle;
}

} // namespace

std::string to_string(Readiness r) {
    switch (r) {
    case Readiness::booting: return "booting";
    case Readiness::ready: return "ready";
    case Readiness::degraded: return "degraded";
    case Readiness::stopping: return "stopping";
    }
    return "booting";
}

bool asks_systemd(pid_t init_pid) { return comm_of(init_pid) == "systemd"; }

Readiness guest_readiness(pid_t init_pid) {
    if (asks_systemd(init_pid)) {
        const auto state = systemd_state(init_pid);
        if (state == "running") return Readiness::ready;
        if (state == "degraded") return Readiness::degraded;
        if (state == "stopping" || state == "offline") return Readiness::stopping;
        return Readiness::booting;
    }
    return processes_idle(init_pid) ? Readiness::ready : Readiness::booting;
}

} // namespace lodge::daemon
