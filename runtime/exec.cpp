#include "runtime/exec.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::runtime {

namespace {

constexpr int all_namespaces =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;

[[noreturn]] void fail(int report_fd, const char* what) {
    char msg[256];
    int n = std::snprintf(msg, sizeof msg, "%s: %s", what, std::strerror(errno));
    (void)!::write(report_fd, msg, static_cast<size_t>(n));
    ::_exit(127);
}

// Like execvpe, but searching the PATH of the new environment, not ours.
void exec_search(char* const argv[], char* const envp[]) {
    const char* file = argv[0];
    if (std::strchr(file, '/')) {
        ::execve(file, argv, envp);
        return;
    }
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char* const* e = envp; *e; ++e)
        if (std::strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    int saved = ENOENT;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t end = path.find(':', pos);
        if (end == std::string::npos) end = path.size();
        std::string cand = (end > pos ? path.substr(pos, end - pos) : ".") + "/" + file;
        ::execve(cand.c_str(), argv, envp);
        if (errno != ENOENT && errno != ENOTDIR) saved = errno;
        pos = end + 1;
    }
    errno = saved;
}

// The process that ends up running the command, inside the container.
[[noreturn]] void run_command(const ExecTarget& t, const ExecRequest& r, int slave, int report_fd) {
    if (::setsid() < 0) fail(report_fd, "setsid");
    if (slave >= 0) {
        if (::ioctl(slave, TIOCSCTTY, 0) < 0) fail(report_fd, "set controlling terminal");
        for (int i = 0; i < 3; ++i) ::dup2(slave, i);
    }
    if (::setgroups(0, nullptr) < 0 || ::setresgid(r.gid, r.gid, r.gid) < 0) fail(report_fd, "set group id");
    if (::setresuid(r.uid, r.uid, r.uid) < 0) fail(report_fd, "set user id");
    if (::chdir(r.cwd.c_str()) < 0 && ::chdir("/") < 0) fail(report_fd, "chdir");
    try {
        drop_bounding_caps(t.security);
    } catch (const std::exception& e) {
        (void)!::write(report_fd, e.what(), std::strlen(e.what()));
        ::_exit(127);
    }
    std::vector<char*> argv, envp;
    for (const auto& a : r.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env = r.env.empty() ? default_exec_env() : r.env;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (int err = load_seccomp(t.seccomp)) {
        errno = -err;
        fail(report_fd, "load the seccomp filter");
    }
    exec_search(argv.data(), envp.data());
    char msg[512];
    int n = std::snprintf(msg, sizeof msg, "exec %s: %s", argv[0], std::strerror(errno));
    (void)!::write(report_fd, msg, static_cast<size_t>(n));
    ::_exit(127);
}

// Opens a pty in the container's own devpts, so the command's terminal is
// one the container knows (ttyname, sudo and login work on it).
int open_container_pty(const ExecRequest& r, int& slave) {
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    int unlock = 0;
    if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) return -1;
    slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) return -1;
    struct winsize ws = {r.rows, r.cols, 0, 0};
    ::ioctl(master, TIOCSWINSZ, &ws);
    return master;
}

} // namespace

std::vector<std::string> default_exec_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
            "LANG=C.UTF-8", "TERM=xterm", "container=lxc"};
}

ExecTarget exec_target(const std::string& run_dir, const std::string& name) {
    ExecTarget t;
    auto client = MonitorClient::connect(run_dir, name);
    client.call("pidfd", t.init_pidfd);
    if (!t.init_pidfd) throw Error("the monitor of '" + name + "' sent no pidfd");
    std::string dir = container_run_dir(run_dir, name);
    std::string cgroups = read_file(cgroup_list_path(run_dir, name));
    for (size_t pos = 0, end; pos < cgroups.size(); pos = end + 1) {
        end = cgroups.find('\n', pos);
        if (end == std::string::npos) end = cgroups.size();
        if (end > pos) t.cgroup_paths.push_back(cgroups.substr(pos, end - pos));
    }
    std::string bpf = read_file(dir + "/seccomp.bpf");
    t.seccomp.assign(bpf.begin(), bpf.end());
    auto cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
    if (cfg.contains("security")) t.security = cfg["security"].get<SecurityPolicy>();
    return t;
}

ExecProcess spawn_exec(const ExecTarget& t, const ExecRequest& req) {
    if (req.argv.empty()) throw Error(400, "exec needs a command");
    int report[2], sv[2];
    check(::pipe2(report, O_CLOEXEC), "pipe");
    UniqueFd report_r(report[0]), report_w(report[1]);
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
    UniqueFd sock_parent(sv[0]), sock_child(sv[1]);

    std::vector<std::string> procs;
    for (const auto& p : t.cgroup_paths) procs.push_back(p + "/cgroup.procs");

    pid_t helper = ::fork();
    if (helper < 0) throw_errno("fork");
    if (helper == 0) {
        // Non-dumpable before anything of the container can see us.
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        for (const auto& p : procs)
            if (int err = try_write_file(p, "0")) {
                errno = err;
                fail(report_w.get(), "join the container's cgroup");
            }
        if (req.pty) ::setsid(); // the pty must not become the helper's terminal
        else {
            int in = req.stdin_fd >= 0 ? req.stdin_fd : ::open("/dev/null", O_RDONLY);
            int out = req.stdout_fd >= 0 ? req.stdout_fd : ::open("/dev/null", O_WRONLY);
            int err = req.stderr_fd >= 0 ? req.stderr_fd : ::open("/dev/null", O_WRONLY);
            // Order matters when the caller passed 0, 1, 2 in other slots.
            int fds[3] = {::fcntl(in, F_DUPFD_CLOEXEC, 3), ::fcntl(out, F_DUPFD_CLOEXEC, 3),
                          ::fcntl(err, F_DUPFD_CLOEXEC, 3)};
            for (int i = 0; i < 3; ++i) ::dup2(fds[i], i);
        }
        if (::setns(t.init_pidfd.get(), all_namespaces) < 0) fail(report_w.get(), "enter the container");
        int slave = -1;
        if (req.pty) {
            int master = open_container_pty(req, slave);
            if (master < 0) fail(report_w.get(), "open a pty in the container");
            send_message(sock_child.get(), "pty", master);
            ::close(master);
        }
        // The command is our parent's child (CLONE_PARENT), in the
        // container's pid namespace; this helper is gone at once.
        struct clone_args args = {};
        args.flags = CLONE_PARENT;
        args.exit_signal = 0;
        pid_t pid = sys::clone3(args);
        if (pid < 0) fail(report_w.get(), "clone3");
        if (pid == 0) run_command(t, req, slave, report_w.get());
        std::string msg = std::to_string(pid);
        send_message(sock_child.get(), msg);
        ::_exit(0);
    }
    report_w.reset();
    sock_child.reset();
    ExecProcess p;
    std::string reply;
    try {
        if (req.pty) {
            reply = recv_message(sock_parent.get(), &p.pty);
            if (reply.empty()) throw Error("exec helper ended early");
        }
        reply = recv_message(sock_parent.get());
    } catch (...) {
        reply.clear();
    }
    ::waitpid(helper, nullptr, 0);
    if (!reply.empty()) {
        p.pid = std::stoi(reply);
        p.pidfd.reset(sys::pidfd_open(p.pid));
    }
    // The report pipe stays open until the command execs (or fails to).
    std::string error;
    char buf[512];
    ssize_t n;
    while ((n = ::read(report_r.get(), buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        error.append(buf, static_cast<size_t>(n));
    }
    if (!error.empty() || p.pid < 0) {
        if (p.pid > 0) wait_exec(p);
        throw Error(error.find("exec ") == 0 ? 404 : 500, error.empty() ? "exec failed" : error);
    }
    return p;
}

int wait_exec(ExecProcess& p) {
    siginfo_t info = {};
    for (;;) {
        // exit_signal 0 makes it a "clone" child: __WALL finds it.
        if (::waitid(P_PID, static_cast<id_t>(p.pid), &info, WEXITED | __WALL) == 0) break;
        if (errno != EINTR) throw_errno("wait for exec'd process");
    }
    p.pid = -1;
    return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

} // namespace lodge::runtime
