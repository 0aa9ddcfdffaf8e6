#include "runtime/monitor/supervisor.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/syscalls.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

namespace lodge::runtime::monitor {

namespace {

long long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

nlohmann::json error_reply(int status, const std::string& msg) { return {{"error", msg}, {"status", status}}; }

} // namespace

Supervisor::Supervisor(ContainerConfig cfg, std::string dir, RunningContainer rc, UniqueFd pty_master,
                       UniqueFd listener)
    : cfg_(std::move(cfg)), dir_(std::move(dir)), rc_(std::move(rc)), pty_(std::move(pty_master)),
      listener_(std::move(listener)), log_(cfg_.console_log_bytes), started_ms_(now_ms()) {}

nlohmann::json Supervisor::state() const {
    std::string status = exited_ ? "stopped" : (rc_.cgroup->frozen() ? "frozen" : "running");
    return {{"name", cfg_.name},          {"status", status},
            {"init_pid", rc_.init_pid},   {"monitor_pid", ::getpid()},
            {"started_at", started_ms_},  {"cgroup_paths", rc_.cgroup->paths()}};
}

void Supervisor::begin_stop(int timeout_ms, bool force) {
    if (exited_) return;
    if (force || timeout_ms == 0) {
        forced_ = true;
        sys::pidfd_send_signal(rc_.init_pidfd.get(), SIGKILL);
        return;
    }
    // A frozen init can't act on its halt signal.
    if (rc_.cgroup->frozen()) rc_.cgroup->freeze(false);
    sys::pidfd_send_signal(rc_.init_pidfd.get(), halt_signal_for(cfg_));
    long long deadline = now_ms() + timeout_ms;
    if (kill_at_ms_ < 0 || deadline < kill_at_ms_) kill_at_ms_ = deadline;
}

void Supervisor::handle_request(Client& c) {
    std::string req;
    try {
        req = recv_message(c.sock.get());
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
    std::istringstream in(req);
    std::string verb;
    in >> verb;
    nlohmann::json reply;
    int fd = -1;
    try {
        if (verb == "state") {
            reply = state();
        } else if (verb == "pidfd") {
            reply = state();
            fd = rc_.init_pidfd.get();
        } else if (verb == "stop") {
            int timeout_ms = 30000, force = 0;
            in >> timeout_ms >> force;
            begin_stop(timeout_ms, force != 0);
            c.waiting = true;
            return; // answered when init has exited
        } else if (verb == "wait") {
            c.waiting = true;
            return;
        } else if (verb == "freeze" || verb == "unfreeze") {
            rc_.cgroup->freeze(verb == "freeze");
            reply = state();
        } else if (verb == "usage") {
            Usage u = rc_.cgroup->usage();
            reply = {{"memory_bytes", u.memory_bytes}, {"memory_peak_bytes", u.memory_peak_bytes},
                     {"cpu_ns", u.cpu_ns},             {"pids", u.pids},
                     {"oom_kills", u.oom_kills}};
        } else if (verb == "limits") {
            std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            ContainerConfig tmp = cfg_;
            nlohmann::json j = cfg_;
            j["limits"] = nlohmann::json::parse(rest);
            tmp = j.get<ContainerConfig>();
            rc_.cgroup->apply(tmp.limits);
            cfg_.limits = tmp.limits;
            reply = {{"ok", true}};
        } else if (verb == "console-log") {
            reply = {{"log", log_.contents()}};
        } else if (verb == "console") {
            c.console = true;
            reply = {{"ok", true}};
        } else {
            reply = error_reply(400, "unknown monitor request '" + verb + "'");
        }
    } catch (const Error& e) {
        reply = error_reply(e.status(), e.what());
    } catch (const std::exception& e) {
        reply = error_reply(400, e.what());
    }
    try {
        send_message(c.sock.get(), reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), fd);
    } catch (const Error&) {
        c.sock.reset();
    }
}

void Supervisor::pump_console() {
    char buf[4096];
    ssize_t n = ::read(pty_.get(), buf, sizeof buf);
    if (n <= 0) return;
    log_.write(buf, static_cast<size_t>(n));
    std::string chunk(buf, static_cast<size_t>(n));
    for (auto& c : clients_)
        if (c.console && c.sock) {
            if (::send(c.sock.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
                c.sock.reset();
        }
}

void Supervisor::on_init_exit() {
    siginfo_t info = {};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(rc_.init_pidfd.get()), &info, WEXITED) < 0)
        throw_errno("waitid init");
    exited_ = true;
    nlohmann::json rec = {{"stopped_at", now_ms()}, {"forced", forced_}};
    bool clean = false;
    if (info.si_code == CLD_EXITED) {
        rec["code"] = info.si_status;
        clean = info.si_status == 0;
    } else {
        rec["signal"] = info.si_status;
        // reboot(2) in a pid namespace ends its init with SIGINT for halt and
        // power-off, SIGHUP for reboot: both are the guest shutting down.
        clean = info.si_status == SIGINT || info.si_status == SIGHUP;
        rec["reboot"] = info.si_status == SIGHUP;
    }
    rec["clean"] = clean && !forced_;
    exit_ = rec;
    // The pid namespace is gone with its init; what is left in the cgroup
    // is on its way out.
    rc_.cgroup->kill_all(SIGKILL);
    rc_.cgroup->destroy();
    pump_console();
    try {
        write_file_atomic(dir_ + "/console.log", log_.contents(), 0600);
        write_file_atomic(dir_ + "/exit.json", exit_.dump(), 0600);
    } catch (const Error&) { // a read-only run dir loses the record, not the stop
    }
    ::unlink((dir_ + "/monitor.sock").c_str());
    listener_.reset();
}

nlohmann::json Supervisor::run() {
    while (true) {
        std::vector<struct pollfd> fds;
        if (!exited_) {
            fds.push_back({rc_.init_pidfd.get(), POLLIN, 0});
            fds.push_back({pty_.get(), POLLIN, 0});
            fds.push_back({listener_.get(), POLLIN, 0});
        }
        size_t first_client = fds.size();
        for (auto& c : clients_) fds.push_back({c.sock.get(), POLLIN, 0});

        if (exited_) {
            // Every waiter gets the exit record; then the monitor is done.
            for (auto& c : clients_)
                if (c.waiting && c.sock) {
                    try {
                        send_message(c.sock.get(), exit_.dump());
                    } catch (const Error&) {
                    }
                }
            return exit_;
        }

        int timeout = -1;
        if (kill_at_ms_ >= 0) timeout = static_cast<int>(std::max(0LL, kill_at_ms_ - now_ms()));
        int n = ::poll(fds.data(), fds.size(), timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (kill_at_ms_ >= 0 && now_ms() >= kill_at_ms_) {
            kill_at_ms_ = -1;
            forced_ = true;
            sys::pidfd_send_signal(rc_.init_pidfd.get(), SIGKILL);
        }
        if (fds[1].revents & POLLIN) pump_console();
        if (fds[2].revents & POLLIN) {
            int s = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (s >= 0) clients_.push_back({UniqueFd(s)});
        }
        for (size_t i = first_client; i < fds.size(); ++i)
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) handle_request(clients_[i - first_client]);
        clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const Client& c) { return !c.sock; }),
                       clients_.end());
        if (fds[0].revents & POLLIN) on_init_exit();
    }
}

} // namespace lodge::runtime::monitor
