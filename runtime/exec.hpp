// Running a command inside a running container with everything its init
// has: namespaces, cgroup, id map, capability bounding set and the very same
// seccomp filter.
#pragma once

#include "common/fd.hpp"
#include "runtime/security.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace lodge::runtime {

struct ExecRequest {
    std::vector<std::string> argv;
    std::vector<std::string> env; // the whole environment; default_exec_env() when empty
    std::string cwd = "/root";
    uid_t uid = 0; // inside the container
    gid_t gid = 0;
    bool pty = false;
    unsigned short rows = 24, cols = 80;
    // Without a pty: the process's stdin, stdout, stderr (host fds; -1 for
    // /dev/null).
    int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
};

// What the container's processes share, fetched once per exec from the
// monitor and the run directory.
struct ExecTarget {
    UniqueFd init_pidfd;
    std::vector<std::string> cgroup_paths;
    std::vector<unsigned char> seccomp; // init's compiled filter
    SecurityPolicy security;
};

struct ExecProcess {
    pid_t pid = -1;   // host pid, a child of the caller
    UniqueFd pidfd;
    UniqueFd pty;     // the pty master, when req.pty
};

std::vector<std::string> default_exec_env();

// Starts the command; the caller waits with wait_exec. The process is
// non-dumpable before it joins the container and execs straight away, so
// nothing inside can open its /proc/PID/exe or ptrace it while it still
// holds host resources.
ExecProcess spawn_exec(const ExecTarget& target, const ExecRequest& req);

// Waits for the process; returns its exit code, or 128+signal.
int wait_exec(ExecProcess& p);

// Looks the container up through its monitor in run_dir.
ExecTarget exec_target(const std::string& run_dir, const std::string& name);

} // namespace lodge::runtime
