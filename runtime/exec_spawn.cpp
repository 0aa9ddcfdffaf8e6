#include "runtime/exec_spawn.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/message.hpp"
#include "runtime/security.hpp"
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
#include <cstdio>
#include <cstring>

namespace lodge::runtime {

namespace {

constexpr int all_namespaces =
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;

[[noreturn]] void fail(int report_fd, const char* what) {
    char msg[512];
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
[[noreturn]] void run_command(const ExecContext& ctx, const ExecRequest& r, int slave, int report_fd) {
    if (::setsid() < 0) fail(report_fd, "setsid");
    if (slave >= 0) {
        if (::ioctl(slave, TIOCSCTTY, 0) < 0) fail(report_fd, "set controlling terminal");
        for (int i = 0; i < 3; ++i) ::dup2(slave, i);
    }
    if (::setgroups(0, nullptr) < 0 || ::setresgid(r.gid, r.gid, r.gid) < 0) fail(report_fd, "set group id");
    if (::setresuid(r.uid, r.uid, r.uid) < 0) fail(report_fd, "set user id");
    if (::chdir(r.cwd.c_str()) < 0 && ::chdir("/") < 0) fail(report_fd, "chdir");
    for (int cap : ctx.caps_drop)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(report_fd, "drop capabilities");
    std::vector<char*> argv, envp;
    for (const auto& a : r.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env = r.env.empty() ? default_exec_env() : r.env;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (int err = load_seccomp(ctx.seccomp)) {
        errno = -err;
        fail(report_fd, "load the seccomp filter");
    }
    exec_search(argv.data(), envp.data());
    char msg[512];
    int n = std::snprintf(msg, sizeof msg, "exec %s: %s", argv[0], std::strerror(errno));
    (void)!::write(report_fd, msg, static_cast<size_t>(n));
    ::_exit(127);
}

// A pty in the container's own devpts, so the command's terminal is one the
// container knows (ttyname, sudo and login work on it).
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

void put(std::string& out, const std::string& field) {
    out += field;
    out += '\0';
}

} // namespace

std::vector<std::string> default_exec_env() {
    return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
            "LANG=C.UTF-8", "TERM=xterm", "container=lxc"};
}

std::string encode_exec_request(const ExecRequest& r) {
    std::string out;
    put(out, "exec");
    put(out, std::to_string(r.uid));
    put(out, std::to_string(r.gid));
    put(out, r.cwd);
    put(out, r.pty ? "1" : "0");
    put(out, std::to_string(r.rows));
    put(out, std::to_string(r.cols));
    put(out, std::to_string(r.argv.size()));
    for (const auto& a : r.argv) put(out, a);
    put(out, std::to_string(r.env.size()));
    for (const auto& e : r.env) put(out, e);
    return out;
}

ExecRequest decode_exec_request(const std::string& wire) {
    std::vector<std::string> f;
    for (size_t pos = 0; pos < wire.size();) {
        size_t end = wire.find('\0', pos);
        if (end == std::string::npos) throw Error(400, "exec request: unterminated field");
        f.push_back(wire.substr(pos, end - pos));
        pos = end + 1;
    }
    auto number = [&](size_t i) -> unsigned long {
        if (i >= f.size() || f[i].empty() || f[i].find_first_not_of("0123456789") != std::string::npos)
            throw Error(400, "exec request: bad number");
        return std::stoul(f[i]);
    };
    if (f.size() < 9 || f[0] != "exec") throw Error(400, "exec request: malformed");
    ExecRequest r;
    r.uid = static_cast<uid_t>(number(1));
    r.gid = static_cast<gid_t>(number(2));
    r.cwd = f[3];
    r.pty = f[4] == "1";
    r.rows = static_cast<unsigned short>(number(5));
    r.cols = static_cast<unsigned short>(number(6));
    size_t argc = number(7), i = 8;
    if (argc == 0 || i + argc >= f.size()) throw Error(400, "exec request: bad argument count");
    r.argv.assign(f.begin() + static_cast<long>(i), f.begin() + static_cast<long>(i + argc));
    i += argc;
    size_t envc = number(i++);
    if (i + envc != f.size()) throw Error(400, "exec request: bad environment count");
    r.env.assign(f.begin() + static_cast<long>(i), f.end());
    return r;
}

Spawned spawn_in_container(const ExecContext& ctx, const ExecRequest& req) {
    if (req.argv.empty()) throw Error(400, "exec needs a command");
    int report[2], sv[2];
    check(::pipe2(report, O_CLOEXEC), "pipe");
    UniqueFd report_r(report[0]), report_w(report[1]);
    check(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
    UniqueFd sock_parent(sv[0]), sock_child(sv[1]);

    struct clone_args hargs = {};
    hargs.flags = ctx.cgroup_v2_fd >= 0 ? CLONE_INTO_CGROUP : 0;
    hargs.cgroup = static_cast<uint64_t>(ctx.cgroup_v2_fd >= 0 ? ctx.cgroup_v2_fd : 0);
    hargs.exit_signal = SIGCHLD;
    pid_t helper = sys::clone3(hargs);
    if (helper < 0) throw_errno("clone3 exec helper");
    if (helper == 0) {
        // Non-dumpable before anything of the container can see us.
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        // The monitor shields itself from the OOM killer; its commands are
        // ordinary processes of the container.
        try_write_file("/proc/self/oom_score_adj", "0");
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(s, SIG_DFL);
        if (req.pty) {
            ::setsid(); // the pty must not become the helper's terminal
        } else {
            int in = req.stdin_fd >= 0 ? req.stdin_fd : ::open("/dev/null", O_RDONLY);
            int out = req.stdout_fd >= 0 ? req.stdout_fd : ::open("/dev/null", O_WRONLY);
            int err = req.stderr_fd >= 0 ? req.stderr_fd : ::open("/dev/null", O_WRONLY);
            // Copied above 2 first: the descriptors may already sit in 0-2.
            int fds[3] = {::fcntl(in, F_DUPFD_CLOEXEC, 3), ::fcntl(out, F_DUPFD_CLOEXEC, 3),
                          ::fcntl(err, F_DUPFD_CLOEXEC, 3)};
            for (int i = 0; i < 3; ++i) ::dup2(fds[i], i);
        }
        int namespaces = ctx.own_user_ns ? all_namespaces : all_namespaces & ~CLONE_NEWUSER;
        if (::setns(ctx.init_pidfd, namespaces) < 0) fail(report_w.get(), "enter the container");
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
        pid_t pid = sys::clone3(args);
        if (pid < 0) fail(report_w.get(), "clone3");
        if (pid == 0) run_command(ctx, req, slave, report_w.get());
        send_message(sock_child.get(), std::to_string(pid));
        ::_exit(0);
    }
    report_w.reset();
    sock_child.reset();
    Spawned s;
    std::string reply;
    try {
        if (req.pty) {
            reply = recv_message(sock_parent.get(), &s.pty);
            if (reply.empty()) throw Error("exec helper ended early");
        }
        reply = recv_message(sock_parent.get());
    } catch (const Error&) {
        reply.clear();
    }
    ::waitpid(helper, nullptr, __WALL);
    if (!reply.empty()) s.pid = static_cast<pid_t>(std::stol(reply));
    // The report pipe stays open until the command execs (or fails to).
    std::string error = read_to_eof(report_r.get());
    if (!error.empty() || s.pid < 0) {
        if (s.pid > 0) ::waitpid(s.pid, nullptr, __WALL);
        throw Error(error.rfind("exec ", 0) == 0 ? 404 : 500, error.empty() ? "exec failed" : error);
    }
    return s;
}

} // namespace lodge::runtime
