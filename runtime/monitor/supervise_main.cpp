// lodge-supervisor: the long-lived half of lodge-monitor, exec'd by it once
// the container runs (it shows as "lodge-monitor --supervise NAME ..."):
//   --supervise NAME DIR INIT_PID HALT_SIGNAL STARTED_MS LOG_BYTES
// with the control socket, the console's pty master, init's pidfd and the
// seccomp listener for reboot(2) on fds 3, 4, 5 and 6. A small static binary of its own, because a static
// binary's text is mapped in large page-cache folios: its size, not the code
// it runs, sets its resident memory.
#include "common/file.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/monitor/exec_thread.hpp"
#include "runtime/monitor/supervisor.hpp"

#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace lodge;
using namespace lodge::runtime;

namespace {

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> out;
    std::string text = read_file(path);
    for (size_t pos = 0, end; pos < text.size(); pos = end + 1) {
        end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) out.push_back(text.substr(pos, end - pos));
    }
    return out;
}

// Runs "lodge-monitor --finish NAME" (beside this binary), which removes the
// container's cgroup with the full cgroup code.
void finish(const std::string& name) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    std::string monitor = std::string(self, std::strrchr(self, '/')) + "/lodge-monitor";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::execl(monitor.c_str(), "lodge-monitor", "--finish", name.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
}

int supervise(char** argv) {
    monitor::SupervisedInit init{argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]), std::atoll(argv[6]),
                                 static_cast<size_t>(std::atoll(argv[7])), {}};
    init.cgroup_dirs = read_lines(init.dir + "/cgroups");
    // Exec's context: what init runs under, read back from the run
    // directory where lodge-monitor left it.
    ExecContext ctx;
    ctx.init_pidfd = 5;
    std::vector<std::string> v1_dirs;
    UniqueFd v2_dir;
    std::string bpf = read_file(init.dir + "/seccomp.bpf");
    ctx.seccomp.assign(bpf.begin(), bpf.end());
    for (const auto& cap : read_lines(init.dir + "/caps-drop")) ctx.caps_drop.push_back(std::atoi(cap.c_str()));
    for (const auto& dir : init.cgroup_dirs) {
        if (is_v1_cgroup_dir(dir)) v1_dirs.push_back(dir);
        else v2_dir.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    ctx.cgroup_v2_fd = v2_dir.get();
    struct stat own_ns, init_ns;
    if (::stat("/proc/self/ns/user", &own_ns) == 0 &&
        ::stat(("/proc/" + std::to_string(init.init_pid) + "/ns/user").c_str(), &init_ns) == 0)
        ctx.own_user_ns = own_ns.st_ino != init_ns.st_ino || own_ns.st_dev != init_ns.st_dev;

    // An open slave keeps the console's master from signalling hangup
    // whenever the guest has closed its console.
    UniqueFd console_slave(::ioctl(4, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    ::fcntl(4, F_SETFL, ::fcntl(4, F_GETFL) | O_NONBLOCK); // so a drain never waits
    monitor::Supervisor sup(init, UniqueFd(5), UniqueFd(4), UniqueFd(3), UniqueFd(6));
    monitor::ExecThread exec(ctx, v1_dirs);
    sup.exec = &exec;
    sup.cleanup = [&] {
        exec.stop();
        finish(init.name);
    };
    ::malloc_trim(0);
    std::string exit = sup.run();
    std::fprintf(stderr, "lodge-monitor %s: init ended: %s\n", init.name.c_str(), exit.c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(s, SIG_IGN);
    if (argc != 8 || std::strcmp(argv[1], "--supervise") != 0) {
        std::fprintf(stderr, "usage: lodge-supervisor --supervise ... (started by lodge-monitor)\n");
        return 2;
    }
    for (int fd = 3; fd <= 6; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    // The exec thread sits in the container's memory cgroup: the OOM killer
    // must never pick the monitor (commands reset this for themselves).
    // Lowering it takes CAP_SYS_RESOURCE, which some hosts withhold.
    if (int err = try_write_file("/proc/self/oom_score_adj", "-1000"))
        std::fprintf(stderr, "lodge-monitor %s: cannot shield the monitor from the OOM killer: %s\n", argv[2],
                     std::strerror(err));
    try {
        return supervise(argv);
    } catch (const std::exception& e) {
        // A container nobody supervises must not live on.
        std::fprintf(stderr, "lodge-monitor %s: %s; killing the container\n", argv[2], e.what());
        ::syscall(SYS_pidfd_send_signal, 5, SIGKILL, nullptr, 0);
        return 1;
    }
}
