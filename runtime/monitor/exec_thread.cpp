#include "runtime/monitor/exec_thread.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace lodge::runtime::monitor {

ExecThread::ExecThread(ExecContext ctx, std::vector<std::string> v1_dirs)
    : ctx_(std::move(ctx)), v1_dirs_(std::move(v1_dirs)) {
    int a[2], b[2];
    check(::pipe2(a, O_CLOEXEC), "pipe");
    jobs_r_.reset(a[0]);
    jobs_w_.reset(a[1]);
    check(::pipe2(b, O_CLOEXEC), "pipe");
    done_r_.reset(b[0]);
    done_w_.reset(b[1]);
    thread_ = std::thread([this] { loop(); });
}

ExecThread::~ExecThread() { stop(); }

void ExecThread::stop() {
    jobs_w_.reset(); // the thread sees EOF and ends
    if (thread_.joinable()) {
        if (busy_) thread_.detach(); // frozen: the process is exiting anyway
        else thread_.join();
    }
}

Spawned ExecThread::collect_late() {
    char c;
    if (!busy_ || ::read(done_r_.get(), &c, 1) != 1) return {};
    busy_ = false;
    job_fds_.clear();
    return std::move(result_);
}

void ExecThread::loop() {
    std::string tid = std::to_string(::syscall(SYS_gettid));
    for (const auto& dir : v1_dirs_)
        if (int err = try_write_file(dir + "/tasks", tid))
            join_error_ = SystemError("join " + dir, err).what();
    char c;
    while (::read(jobs_r_.get(), &c, 1) == 1) {
        try {
            // Never start a command outside the container's cgroups.
            if (!join_error_.empty()) throw Error(join_error_);
            result_ = spawn_in_container(ctx_, job_);
            error_.clear();
        } catch (const Error& e) {
            error_ = e.what();
            error_status_ = e.status();
        }
        (void)!::write(done_w_.get(), "x", 1);
    }
}

Spawned ExecThread::spawn(ExecRequest req, std::vector<UniqueFd> stdio, int timeout_ms) {
    if (!jobs_w_) throw Error(404, "the container has stopped");
    // The last job is still on the thread: the container was frozen and
    // the caller has not collected it since.
    if (busy_) throw Error(409, "the container is frozen; unfreeze it to exec");
    job_ = std::move(req);
    job_fds_ = std::move(stdio);
    result_ = Spawned{};
    (void)!::write(jobs_w_.get(), "x", 1);
    struct pollfd p = {done_r_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) {
        busy_ = true;
        throw Error(409, "the container is frozen; unfreeze it to exec");
    }
    char c;
    (void)!::read(done_r_.get(), &c, 1);
    job_fds_.clear();
    if (result_.pid < 0) throw Error(error_status_, error_.empty() ? "exec failed" : error_);
    return std::move(result_);
}

} // namespace lodge::runtime::monitor
