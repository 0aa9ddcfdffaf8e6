// The monitor's life after init has started, in a freshly exec'd image that
// touches little memory: the control socket, the console, and recording how
// init ended. Requests that act on the cgroup (limits, usage, freeze) are
// served by the clients themselves through runtime/cgroup.hpp; the monitor
// keeps only what needs a process that lives as long as the container.
#pragma once

#include "common/fd.hpp"
#include "runtime/console.hpp"
#include "runtime/monitor/exec_thread.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace lodge::runtime::monitor {

struct SupervisedInit {
    std::string name;
    std::string dir; // the container's run directory
    pid_t init_pid;
    int halt_signal;
    long long started_ms;
    size_t console_log_bytes;
    std::vector<std::string> cgroup_dirs;
};

class Supervisor {
public:
    Supervisor(SupervisedInit init, UniqueFd pidfd, UniqueFd pty_master, UniqueFd listener,
               UniqueFd reboot_listener);
    // Serves until init has exited and every waiter has its answer; returns
    // the exit record (JSON).
    std::string run();

    // Called after each round of requests (the monitor trims its memory).
    std::function<void()> after_requests;
    // Called once init has exited, before waiters are answered: removes
    // the cgroup.
    std::function<void()> cleanup;
    // Starts exec'd commands; none: exec is refused.
    ExecThread* exec = nullptr;

private:
    struct Client {
        UniqueFd sock;
        unsigned long id = 0;
        bool console = false; // relaying the console
        bool waiting = false; // waiting for init's exit
    };
    // A command started by exec, reported to its client when it ends.
    struct ExecChild {
        pid_t pid;
        UniqueFd pidfd;
        unsigned long client;
    };

    void start_exec(Client& c, const std::string& wire, std::vector<UniqueFd> fds);
    void on_exec_exit(ExecChild& child);

    void handle_request(Client& c);
    std::string state() const;
    void begin_stop(int timeout_ms, bool force);
    void on_init_exit();
    void pump_console();
    void on_reboot_call();
    bool frozen() const;
    void thaw();

    SupervisedInit init_;
    UniqueFd pidfd_;
    UniqueFd pty_;
    UniqueFd listener_;
    UniqueFd reboot_;
    std::vector<Client> clients_;
    std::vector<ExecChild> children_;
    unsigned long next_client_ = 1;
    RingBuffer log_;
    long long kill_at_ms_ = -1; // when a clean stop turns into SIGKILL
    bool forced_ = false;
    bool console_hup_ = false;
    int guest_shutdown_ = 0; // the reboot(2) command the guest ended with
    bool exited_ = false;
    std::string exit_;
};

} // namespace lodge::runtime::monitor
