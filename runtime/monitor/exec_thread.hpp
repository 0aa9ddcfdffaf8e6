// The monitor's thread that lives in the container's v1 cgroups. A new
// process forked from it is born in them: moving a process into a v1
// cgroup waits for an RCU grace period when the kernel's cgroup rwsem is
// idle (10-17 ms on our hosts), and a thread moves once, at start. In v1,
// membership is per thread, so the monitor's main thread stays outside
// (and is never frozen with the container).
#pragma once

#include "common/fd.hpp"
#include "runtime/exec_spawn.hpp"

#include <string>
#include <thread>
#include <vector>

namespace lodge::runtime::monitor {

class ExecThread {
public:
    // Starts the thread, which moves itself into the v1 cgroup directories.
    ExecThread(ExecContext ctx, std::vector<std::string> v1_dirs);
    ~ExecThread();

    // Ends the thread, which takes it out of the container's cgroups (they
    // can't be removed while it is in them). Later spawns fail.
    void stop();

    // Runs spawn_in_container on the thread and waits for it (at most
    // timeout_ms: a frozen container freezes the thread too). The job owns
    // the request and its stdio descriptors until the thread is done with
    // them. Throws lodge::Error.
    Spawned spawn(ExecRequest req, std::vector<UniqueFd> stdio, int timeout_ms);

    // The descriptor that turns readable when a job the caller gave up on
    // (a frozen container) has finished; -1 when there is none.
    int late_fd() const { return busy_ ? done_r_.get() : -1; }
    // Takes the late job's result: a command nobody waits for any more,
    // which the caller must still reap.
    Spawned collect_late();

private:
    void loop();

    ExecContext ctx_;
    std::vector<std::string> v1_dirs_;
    UniqueFd jobs_r_, jobs_w_;     // main → thread: one byte per job
    UniqueFd done_r_, done_w_;     // thread → main: one byte per finished job
    ExecRequest job_;
    std::vector<UniqueFd> job_fds_;
    Spawned result_;
    std::string join_error_; // set when the thread could not join a cgroup
    std::string error_;
    int error_status_ = 500;
    bool busy_ = false; // a job the thread has not answered (timed out)
    std::thread thread_;
};

} // namespace lodge::runtime::monitor
