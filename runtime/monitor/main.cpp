// lodge-monitor NAME RUN_DIR: creates the container described by
// RUN_DIR/NAME/config.json and tells its starter on fd 3 ("ok INIT MONITOR"
// or "error MESSAGE"). It then re-executes itself in supervise mode:
//   lodge-monitor --supervise NAME DIR INIT_PID HALT_SIGNAL STARTED_MS LOG_BYTES
// with the control socket, the console's pty master and init's pidfd on fds
// 3, 4 and 5. The fresh image maps only what supervising touches, so the
// monitor stays small for the container's whole life.
#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/console.hpp"
#include "runtime/monitor/supervisor.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/start.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

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
        pty = open_console_pty();
        listener = listen_on(dir + "/monitor.sock");
        try {
            rc = start_container(cfg, pty.slave_path);
        } catch (...) {
            ::unlink((dir + "/monitor.sock").c_str());
            throw;
        }
        std::string paths;
        for (const auto& p : rc.cgroup->paths()) paths += p + "\n";
        write_file_atomic(cgroup_list_path(run_dir, name), paths, 0600);
        write_file_atomic(dir + "/seccomp.bpf", std::string(rc.seccomp.begin(), rc.seccomp.end()), 0600);
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
        ::execl("/proc/self/exe", "lodge-monitor", "--supervise", name.c_str(), dir.c_str(), args[0].c_str(),
                args[1].c_str(), args[2].c_str(), args[3].c_str(), static_cast<char*>(nullptr));
        throw_errno("re-exec lodge-monitor");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s; killing the container\n", name.c_str(), e.what());
        ::kill(rc.init_pid, SIGKILL);
        rc.cgroup->kill_all(SIGKILL);
        rc.cgroup->destroy();
        return 1;
    }
}

// The clean, read-only mappings of the program (text and constants), found
// once: dropping their page-table entries costs nothing to correctness
// (they refault from the page cache) and keeps RSS to what supervising
// runs. The kernel's fault-around maps 64 KiB around every fault, so a
// 16 MB static binary otherwise shows a megabyte it never uses again.
std::vector<std::pair<uintptr_t, size_t>> clean_text_ranges() {
    std::vector<std::pair<uintptr_t, size_t>> out;
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return out;
    exe[n] = 0;
    FILE* f = std::fopen("/proc/self/smaps", "re");
    if (!f) return out;
    char line[4608];
    uintptr_t start = 0, end = 0;
    bool candidate = false;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[8];
        char path[4096] = "";
        if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &a, &b, perms, path) >= 3 && std::strchr(line, '-')
            && std::strlen(perms) == 4) {
            start = a, end = b;
            candidate = perms[1] != 'w' && std::strcmp(path, exe) == 0;
            continue;
        }
        unsigned long kb;
        // Dirty pages (a static binary's relocated GOT) must stay.
        if (candidate && std::sscanf(line, "Private_Dirty: %lu kB", &kb) == 1 && kb == 0)
            out.emplace_back(start, end - start);
    }
    std::fclose(f);
    return out;
}

void trim_resident_memory(const std::vector<std::pair<uintptr_t, size_t>>& ranges) {
    for (const auto& [start, len] : ranges) ::madvise(reinterpret_cast<void*>(start), len, MADV_DONTNEED);
    ::malloc_trim(0);
}

int supervise(char** argv) {
    monitor::SupervisedInit init{argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]), std::atoll(argv[6]),
                                 static_cast<size_t>(std::atoll(argv[7]))};
    for (int fd = 3; fd <= 5; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    monitor::Supervisor sup(init, UniqueFd(5), UniqueFd(4), UniqueFd(3));
    auto ranges = clean_text_ranges();
    trim_resident_memory(ranges);
    sup.after_requests = [&ranges] { trim_resident_memory(ranges); };
    try {
        std::string exit = sup.run();
        std::fprintf(stderr, "lodge-monitor %s: init ended: %s\n", init.name.c_str(), exit.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s\n", init.name.c_str(), e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(s, SIG_IGN);
    if (argc == 8 && std::strcmp(argv[1], "--supervise") == 0) return supervise(argv);
    if (argc != 3) {
        std::fprintf(stderr, "usage: lodge-monitor NAME RUN_DIR (started by lodge, not by hand)\n");
        return 2;
    }
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::umask(022);
    if (::chdir("/") < 0) return 1;
    return create(argv[1], argv[2]);
}
