// Running a command inside a running container with everything its init
// has: namespaces, cgroups, id map, capability bounding set and the very
// same seccomp filter. The container's monitor starts the command
// (exec_spawn.hpp) and reports its end, so the command is nobody else's
// child and a caller that goes away leaves it running under supervision.
#pragma once

#include "common/fd.hpp"
#include "runtime/exec_spawn.hpp"

#include <sys/types.h>

#include <string>

namespace lodge::runtime {

struct ExecSession {
    UniqueFd sock;  // to the monitor; the exit status arrives on it
    pid_t pid = -1; // host pid of the command
    UniqueFd pty;   // the pty master, when the request asked for one
};

// Asks the monitor of `name` in run_dir to start req. Without a pty the
// request's stdio descriptors are handed to the command. Throws
// lodge::Error (404 when the container is not running or the command is
// not found).
ExecSession start_exec(const std::string& run_dir, const std::string& name, const ExecRequest& req);

// Waits for the command; returns its exit code, or 128+signal.
int wait_exec(ExecSession& s);

} // namespace lodge::runtime
