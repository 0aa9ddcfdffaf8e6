// The container's /dev: a fresh tmpfs with the standard nodes bound from the
// host, a private devpts, /dev/shm and /dev/mqueue, and /dev/console on the
// pty the monitor owns. No other device nodes reach the container.
#pragma once

#include <sys/types.h>

#include <string>

namespace lodge::runtime {

struct DevOwner {
    uid_t uid;     // host uid of the container's root
    gid_t gid;     // host gid of the container's root
    gid_t tty_gid; // host gid of the container's tty group (5)
};

// Builds /dev under root_fd. console is the host path of the pty slave that
// becomes /dev/console (empty: none).
void populate_dev(int root_fd, const DevOwner& owner, const std::string& console);

} // namespace lodge::runtime
