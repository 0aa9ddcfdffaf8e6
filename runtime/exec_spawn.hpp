// Starting a process inside a running container: the part that runs in the
// monitor, which keeps a thread in the container's v1 cgroups so that a new
// process is born there instead of being moved (a move into a v1 cgroup can
// cost an RCU grace period, 10 ms and more). Free of JSON and libcap, so the
// monitor's small supervisor binary can carry it.
#pragma once

#include "common/fd.hpp"

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
    // Without a pty: the process's stdin, stdout, stderr (-1 for /dev/null).
    int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
};

std::vector<std::string> default_exec_env();

// The request on the monitor's socket: NUL-separated fields (the stdio
// descriptors travel beside it). decode throws lodge::Error(400).
std::string encode_exec_request(const ExecRequest& req);
ExecRequest decode_exec_request(const std::string& wire);

// What every process of the container shares with its init.
struct ExecContext {
    int init_pidfd = -1;
    int cgroup_v2_fd = -1;              // joined through CLONE_INTO_CGROUP; -1 for none
    std::vector<unsigned char> seccomp; // init's compiled filter
    std::vector<int> caps_drop;         // capability numbers out of the bounding set
    // False for a privileged container, which shares the host's user
    // namespace: setns refuses to "enter" the namespace one is already in.
    bool own_user_ns = true;
};

struct Spawned {
    pid_t pid = -1; // a child of the calling process
    UniqueFd pty;   // the pty master, when the request asked for one
};

// Starts req inside the container. The calling thread must already be in
// the container's v1 cgroups. The command becomes the calling process's
// child; it is non-dumpable before it joins the container and execs at
// once, so nothing inside can open its /proc/PID/exe or ptrace it while it
// still holds host resources. Throws lodge::Error (404 when the command is
// not found).
//
// It forks with raw clone3, bypassing glibc's fork handlers, so the caller
// must make sure no other thread of the process is inside malloc or stdio
// meanwhile (the monitor's main thread waits on a pipe while this runs).
Spawned spawn_in_container(const ExecContext& ctx, const ExecRequest& req);

} // namespace lodge::runtime
