// The monitor's life after init has started: the control socket, the
// console, and recording how init ended.
#pragma once

#include "common/fd.hpp"
#include "runtime/console.hpp"
#include "runtime/start.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lodge::runtime::monitor {

class Supervisor {
public:
    Supervisor(ContainerConfig cfg, std::string dir, RunningContainer rc, UniqueFd pty_master, UniqueFd listener);
    // Serves until init has exited and every waiter has its answer; returns
    // the exit record.
    nlohmann::json run();

private:
    struct Client {
        UniqueFd sock;
        bool console = false; // relaying the console
        bool waiting = false; // waiting for init's exit
    };

    void handle_request(Client& c);
    nlohmann::json state() const;
    void begin_stop(int timeout_ms, bool force);
    void on_init_exit();
    void pump_console();

    ContainerConfig cfg_;
    std::string dir_;
    RunningContainer rc_;
    UniqueFd pty_;
    UniqueFd listener_;
    std::vector<Client> clients_;
    RingBuffer log_;
    long long started_ms_;
    long long kill_at_ms_ = -1; // when a clean stop turns into SIGKILL
    bool forced_ = false;
    bool exited_ = false;
    nlohmann::json exit_;
};

} // namespace lodge::runtime::monitor
