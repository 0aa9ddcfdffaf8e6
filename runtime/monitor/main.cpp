// lodge-monitor NAME RUN_DIR: creates the container described by
// RUN_DIR/NAME/config.json and tells its starter on fd 3 ("ok INIT MONITOR"
// or "error MESSAGE"). It then becomes lodge-supervisor (supervise_main.cpp),
// small for the container's whole life, handing over the control socket,
// the console's pty master, init's pidfd and the seccomp listener for the
// guest's reboot(2) on fds 3, 4, 5 and 6. When init
// has ended, the supervisor runs "lodge-monitor --finish NAME" to remove the
// cgroup.
#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/console.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace lodge;
using namespace lodge::runtime;

namespace {

UniqueFd listen_on(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) throw_errno("socket");
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_errno("bind " + path);
    ::chmod(path.c_str(), 0600);
    if (::listen(s.get(), 64) < 0) throw_errno("listen " + path);
    return s;
}

std::string read_link(const char* path) {
    char buf[4096];
    ssize_t n = ::readlink(path, buf, sizeof buf - 1);
    if (n <= 0) throw_errno(std::string("readlink ") + path);
    return std::string(buf, static_cast<size_t>(n));
}

void report(const std::string& msg) {
    (void)!::write(3, msg.data(), msg.size());
    ::close(3);
}

long long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// Moves fd to number `to`, inheritable across exec.
void place_fd(UniqueFd& fd, int to) {
    if (fd.get() == to) {
        ::fcntl(to, F_SETFD, 0);
        fd.release();
        return;
    }
    if (::dup2(fd.get(), to) < 0) throw_errno("dup2");
    fd.reset();
}

int create(const std::string& name, const std::string& run_dir) {
    std::string dir = container_run_dir(run_dir, name);
    ContainerConfig cfg;
    Pty pty;
    UniqueFd listener;
    RunningContainer rc;
    try {
        cfg = nlohmann::json::parse(read_file(dir + "/config.json")).get<ContainerConfig>();
        // Said once per container, in its monitor log: the host has no LSM
        // to confine it further, which is not a reason to refuse it.
        if (!apparmor_available())
            std::fprintf(stderr, "lodge-monitor %s: AppArmor is not available on this host; the container runs "
                                 "without an LSM profile\n", name.c_str());
        pty = open_console_pty();
        listener = listen_on(dir + "/monitor.sock");
        try {
            rc = start_container(cfg, pty.slave_path, dir);
        } catch (...) {
            ::unlink((dir + "/monitor.sock").c_str());
            throw;
        }
        std::string paths;
        for (const auto& p : rc.cgroup->paths()) paths += p + "\n";
        write_file_atomic(cgroup_list_path(run_dir, name), paths, 0600);
        write_file_atomic(dir + "/seccomp.bpf", std::string(rc.seccomp.begin(), rc.seccomp.end()), 0600);
        std::string caps;
        for (int cap : cap_numbers(cfg.security)) caps += std::to_string(cap) + "\n";
        write_file_atomic(dir + "/caps-drop", caps, 0600);
        report("ok " + std::to_string(rc.init_pid) + " " + std::to_string(::getpid()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s\n", name.c_str(), e.what());
        report(std::string("error ") + e.what());
        return 1;
    }
    // From here on a failure can't be reported to the starter; it is logged
    // and init is killed rather than left unsupervised.
    try {
        std::string args[] = {std::to_string(rc.init_pid), std::to_string(halt_signal_for(cfg)),
                              std::to_string(now_ms()), std::to_string(cfg.console_log_bytes)};
        place_fd(listener, 3);
        place_fd(pty.master, 4);
        place_fd(rc.init_pidfd, 5);
        place_fd(rc.reboot_listener, 6);
        std::string self = read_link("/proc/self/exe");
        std::string supervisor = self.substr(0, self.find_last_of('/')) + "/lodge-supervisor";
        ::execl(supervisor.c_str(), "lodge-monitor", "--supervise", name.c_str(), dir.c_str(), args[0].c_str(),
                args[1].c_str(), args[2].c_str(), args[3].c_str(), static_cast<char*>(nullptr));
        throw_errno("exec " + supervisor);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s; killing the container\n", name.c_str(), e.what());
        ::kill(rc.init_pid, SIGKILL);
        rc.cgroup->kill_all(SIGKILL);
        rc.cgroup->destroy();
        return 1;
    }
}

int finish(const std::string& name) {
    try {
        auto cg = open_cgroup(name);
        cg->kill_all(SIGKILL);
        cg->destroy();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: removing the cgroup: %s\n", name.c_str(), e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(s, SIG_IGN);
    if (argc == 3 && std::strcmp(argv[1], "--finish") == 0) return finish(argv[2]);
    if (argc != 3) {
        std::fprintf(stderr, "usage: lodge-monitor NAME RUN_DIR (started by lodge, not by hand)\n");
        return 2;
    }
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::umask(022);
    if (::chdir("/") < 0) return 1;
    return create(argv[1], argv[2]);
}
