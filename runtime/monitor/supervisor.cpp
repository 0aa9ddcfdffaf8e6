#include "runtime/monitor/supervisor.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/exec_spawn.hpp"
#include "runtime/message.hpp"
#include "runtime/syscalls.hpp"

#include <linux/reboot.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lodge::runtime::monitor {

namespace {

long long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// The monitor's replies are small and fixed in shape; formatting them by
// hand keeps a JSON library's code out of the monitor's resident memory.
std::string error_reply(int status, const char* msg) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"status\":%d}", msg, status);
    return buf;
}

} // namespace

Supervisor::Supervisor(SupervisedInit init, UniqueFd pidfd, UniqueFd pty_master, UniqueFd listener,
                       UniqueFd reboot_listener)
    : init_(std::move(init)), pidfd_(std::move(pidfd)), pty_(std::move(pty_master)), listener_(std::move(listener)),
      reboot_(std::move(reboot_listener)), log_(init_.console_log_bytes) {}

// What the kernel does for reboot(2) in a pid namespace (reboot_pid_ns):
// halt, power-off and restart end the namespace's init; other commands are
// invalid there. The kernel can't do it itself because the container's pid
// namespace belongs to the host's user namespace.
void Supervisor::on_reboot_call() {
    struct seccomp_notif_sizes sizes = {};
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return;
    std::vector<char> req_buf(std::max<size_t>(sizes.seccomp_notif, sizeof(struct seccomp_notif)));
    std::vector<char> resp_buf(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(struct seccomp_notif_resp)));
    auto* req = reinterpret_cast<struct seccomp_notif*>(req_buf.data());
    auto* resp = reinterpret_cast<struct seccomp_notif_resp*>(resp_buf.data());
    if (::ioctl(reboot_.get(), SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
        if (errno == ENOENT || errno == EINTR) return; // the caller went away
        reboot_.reset();                               // the filter is gone with init
        return;
    }
    resp->id = req->id;
    unsigned cmd = static_cast<unsigned>(req->data.args[2]);
    bool magic = static_cast<unsigned>(req->data.args[0]) == LINUX_REBOOT_MAGIC1 &&
                 (static_cast<unsigned>(req->data.args[1]) == LINUX_REBOOT_MAGIC2 ||
                  static_cast<unsigned>(req->data.args[1]) == LINUX_REBOOT_MAGIC2A ||
                  static_cast<unsigned>(req->data.args[1]) == LINUX_REBOOT_MAGIC2B ||
                  static_cast<unsigned>(req->data.args[1]) == LINUX_REBOOT_MAGIC2C);
    bool ends = magic && (cmd == LINUX_REBOOT_CMD_HALT || cmd == LINUX_REBOOT_CMD_POWER_OFF ||
                          cmd == LINUX_REBOOT_CMD_RESTART || cmd == LINUX_REBOOT_CMD_RESTART2);
    resp->error = ends ? 0 : -EINVAL;
    ::ioctl(reboot_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp);
    if (ends && !exited_) {
        guest_shutdown_ = static_cast<int>(cmd);
        sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
    }
}

// The freezer state is read (and, before a halt, cleared) straight from the
// cgroup files listed at start, so the monitor needs no cgroup library.
bool Supervisor::frozen() const {
    for (const auto& dir : init_.cgroup_dirs) {
        try {
            if (::access((dir + "/freezer.state").c_str(), F_OK) == 0)
                return read_file(dir + "/freezer.state").rfind("FROZEN", 0) == 0;
            if (::access((dir + "/cgroup.freeze").c_str(), F_OK) == 0 && read_file(dir + "/cgroup.freeze")[0] == '1')
                return true;
        } catch (const Error&) {
        }
    }
    return false;
}

void Supervisor::thaw() {
    for (const auto& dir : init_.cgroup_dirs) {
        try_write_file(dir + "/freezer.state", "THAWED");
        try_write_file(dir + "/cgroup.freeze", "0");
    }
}

std::string Supervisor::state() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"name\":\"%s\",\"status\":\"%s\",\"init_pid\":%d,\"monitor_pid\":%d,\"started_at\":%lld}",
                  init_.name.c_str(), exited_ ? "stopped" : (frozen() ? "frozen" : "running"), init_.init_pid,
                  ::getpid(), init_.started_ms);
    return buf;
}

void Supervisor::begin_stop(int timeout_ms, bool force) {
    if (exited_) return;
    if (force || timeout_ms == 0) {
        forced_ = true;
        sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
        // A frozen task acts on SIGKILL only once thawed.
        if (frozen()) thaw();
        return;
    }
    // A frozen init can't act on its halt signal.
    if (frozen()) thaw();
    sys::pidfd_send_signal(pidfd_.get(), init_.halt_signal);
    long long deadline = now_ms() + timeout_ms;
    if (kill_at_ms_ < 0 || deadline < kill_at_ms_) kill_at_ms_ = deadline;
}

void Supervisor::start_exec(Client& c, const std::string& wire, std::vector<UniqueFd> fds) {
    std::string reply;
    int pty_fd = -1;
    Spawned s;
    try {
        if (!exec) throw Error(500, "exec is not available");
        if (exited_) throw Error(404, "the container has stopped");
        // A process forked into a frozen cgroup freezes at once, holding the
        // client's descriptors: refuse up front.
        if (frozen()) throw Error(409, "the container is frozen; unfreeze it to exec");
        ExecRequest req = decode_exec_request(wire);
        if (!req.pty) {
            if (fds.size() != 3) throw Error(400, "exec without a pty needs stdin, stdout and stderr");
            req.stdin_fd = fds[0].get();
            req.stdout_fd = fds[1].get();
            req.stderr_fd = fds[2].get();
        }
        s = exec->spawn(std::move(req), std::move(fds), 5000);
        UniqueFd pidfd(sys::pidfd_open(s.pid));
        if (!pidfd) throw_errno("pidfd_open");
        children_.push_back({s.pid, std::move(pidfd), c.id});
        reply = "pid " + std::to_string(s.pid);
        pty_fd = s.pty.get();
    } catch (const Error& e) {
        std::string msg = e.what();
        for (auto& ch : msg)
            if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) ch = ' ';
        reply = "{\"error\":\"" + msg + "\",\"status\":" + std::to_string(e.status()) + "}";
    }
    try {
        send_message(c.sock.get(), reply, pty_fd);
    } catch (const Error&) {
        c.sock.reset();
    }
}

void Supervisor::on_exec_exit(ExecChild& child) {
    siginfo_t info = {};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd.get()), &info, WEXITED) < 0) return;
    int status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    for (auto& c : clients_)
        if (c.id == child.client && c.sock) {
            try {
                send_message(c.sock.get(), "exit " + std::to_string(status));
            } catch (const Error&) {
            }
            c.sock.reset();
        }
    child.pidfd.reset();
}

void Supervisor::handle_request(Client& c) {
    std::string req;
    std::vector<UniqueFd> fds;
    try {
        req = recv_message(c.sock.get(), fds);
    } catch (const Error&) {
        c.sock.reset();
        return;
    }
    if (req.empty()) { // peer closed
        c.sock.reset();
        return;
    }
    if (c.console) { // input for the guest's console
        (void)!::write(pty_.get(), req.data(), req.size());
        return;
    }
    if (req.compare(0, 5, std::string("exec\0", 5)) == 0) {
        start_exec(c, req, std::move(fds));
        return;
    }
    char verb[32] = "";
    int timeout_ms = 30000, force = 0;
    std::sscanf(req.c_str(), "%31s %d %d", verb, &timeout_ms, &force);
    std::string reply;
    int fd = -1;
    if (!std::strcmp(verb, "state")) {
        reply = state();
    } else if (!std::strcmp(verb, "pidfd")) {
        reply = state();
        fd = pidfd_.get();
    } else if (!std::strcmp(verb, "stop")) {
        begin_stop(timeout_ms, force != 0);
        c.waiting = true;
        return; // answered when init has exited
    } else if (!std::strcmp(verb, "wait")) {
        c.waiting = true;
        return;
    } else if (!std::strcmp(verb, "console-log")) {
        // Raw bytes, not JSON: the log is whatever the guest wrote.
        reply = log_.contents();
    } else if (!std::strcmp(verb, "console")) {
        c.console = true;
        reply = "{\"ok\":true}";
    } else {
        reply = error_reply(400, "unknown monitor request");
    }
    try {
        send_message(c.sock.get(), reply, fd);
    } catch (const Error&) {
        c.sock.reset();
    }
}

void Supervisor::pump_console() {
    char buf[4096];
    ssize_t n = ::read(pty_.get(), buf, sizeof buf);
    if (n <= 0) return;
    log_.write(buf, static_cast<size_t>(n));
    for (auto& c : clients_)
        if (c.console && c.sock) {
            if (::send(c.sock.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
                c.sock.reset();
        }
}

void Supervisor::on_init_exit() {
    siginfo_t info = {};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) < 0)
        throw_errno("waitid init");
    exited_ = true;
    bool clean;
    char rec[256];
    if (guest_shutdown_) {
        // The guest shut itself down through reboot(2), as it does at the
        // end of every clean halt or reboot.
        bool reboot = guest_shutdown_ == int(LINUX_REBOOT_CMD_RESTART) || guest_shutdown_ == int(LINUX_REBOOT_CMD_RESTART2);
        std::snprintf(rec, sizeof rec, "{\"clean\":true,\"reboot\":%s,\"forced\":false,\"stopped_at\":%lld}",
                      reboot ? "true" : "false", now_ms());
    } else if (info.si_code == CLD_EXITED) {
        clean = info.si_status == 0 && !forced_;
        std::snprintf(rec, sizeof rec, "{\"clean\":%s,\"code\":%d,\"forced\":%s,\"stopped_at\":%lld}",
                      clean ? "true" : "false", info.si_status, forced_ ? "true" : "false", now_ms());
    } else {
        // reboot(2) in a pid namespace ends its init with SIGINT for halt and
        // power-off, SIGHUP for reboot: both are the guest shutting down.
        clean = (info.si_status == SIGINT || info.si_status == SIGHUP) && !forced_;
        std::snprintf(rec, sizeof rec,
                      "{\"clean\":%s,\"signal\":%d,\"reboot\":%s,\"forced\":%s,\"stopped_at\":%lld}",
                      clean ? "true" : "false", info.si_status, info.si_status == SIGHUP ? "true" : "false",
                      forced_ ? "true" : "false", now_ms());
    }
    exit_ = rec;
    // The pid namespace is gone with its init; what is left in the cgroup
    // is on its way out, and the full monitor removes it.
    if (cleanup) cleanup();
    pump_console();
    try {
        write_file_atomic(init_.dir + "/console.log", log_.contents(), 0600);
        write_file_atomic(init_.dir + "/exit.json", exit_, 0600);
    } catch (const Error& e) {
        std::fprintf(stderr, "lodge-monitor %s: recording the exit: %s\n", init_.name.c_str(), e.what());
    }
    ::unlink((init_.dir + "/monitor.sock").c_str());
    listener_.reset();
}

std::string Supervisor::run() {
    std::vector<struct pollfd> fds;
    while (true) {
        if (exited_) {
            // Every waiter gets the exit record; then the monitor is done.
            for (auto& c : clients_)
                if (c.waiting && c.sock) {
                    try {
                        send_message(c.sock.get(), exit_);
                    } catch (const Error&) {
                    }
                }
            return exit_;
        }
        fds.clear();
        fds.push_back({pidfd_.get(), POLLIN, 0});
        fds.push_back({console_hup_ ? -1 : pty_.get(), POLLIN, 0});
        fds.push_back({listener_.get(), POLLIN, 0});
        fds.push_back({reboot_.get(), POLLIN, 0});
        for (auto& c : clients_) fds.push_back({c.sock.get(), POLLIN, 0});
        fds.push_back({exec ? exec->late_fd() : -1, POLLIN, 0});
        size_t first_child = fds.size();
        for (auto& ch : children_) fds.push_back({ch.pidfd.get(), POLLIN, 0});

        int timeout = -1;
        if (kill_at_ms_ >= 0) timeout = static_cast<int>(std::max(0LL, kill_at_ms_ - now_ms()));
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (kill_at_ms_ >= 0 && now_ms() >= kill_at_ms_) {
            kill_at_ms_ = -1;
            forced_ = true;
            sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
        }
        if (fds[1].revents & POLLIN) pump_console();
        else if (fds[1].revents & (POLLHUP | POLLERR)) console_hup_ = true; // would wake poll for ever
        if (fds[2].revents & POLLIN) {
            int s = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (s >= 0) clients_.push_back({UniqueFd(s), next_client_++});
        }
        bool served = false;
        if (fds[3].revents & POLLIN) on_reboot_call();
        else if (fds[3].revents & (POLLHUP | POLLERR)) reboot_.reset();
        size_t nclients = first_child - 5;
        for (size_t i = 0; i < nclients; ++i)
            if (fds[4 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
                handle_request(clients_[i]);
                served = true;
            }
        if (fds[first_child - 1].revents & POLLIN) {
            // A command whose client gave up still has to be reaped: an
            // unreaped process keeps the pid namespace, and so init, alive.
            Spawned late = exec->collect_late();
            if (late.pid > 0) {
                ::kill(late.pid, SIGKILL); // started too late for its client
                UniqueFd pidfd(sys::pidfd_open(late.pid));
                if (pidfd) children_.push_back({late.pid, std::move(pidfd), 0});
            }
        }
        for (size_t i = first_child; i < fds.size(); ++i)
            if (fds[i].revents & POLLIN) on_exec_exit(children_[i - first_child]);
        children_.erase(std::remove_if(children_.begin(), children_.end(),
                                       [](const ExecChild& ch) { return !ch.pidfd; }),
                        children_.end());
        if (served && after_requests) after_requests();
        clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return !c.sock; }),
                       clients_.end());
        if (fds[0].revents & POLLIN) on_init_exit();
    }
}

} // namespace lodge::runtime::monitor
