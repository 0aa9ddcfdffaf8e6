// Creating a container: cgroup, namespaces, the filesystem tree, then init.
// Runs in the monitor, which owns what this returns.
#pragma once

#include "common/fd.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace lodge::runtime {

struct RunningContainer {
    pid_t init_pid = -1;               // in the host's pid namespace
    UniqueFd init_pidfd;
    std::unique_ptr<Cgroup> cgroup;
    std::vector<unsigned char> seccomp; // the compiled filter init runs under
    UniqueFd reboot_listener;          // seccomp notifications of reboot(2)
};

// Starts cfg's init with `console` (host path of a pty slave; may be empty)
// as /dev/console. container_dir is the container's run directory: the
// host copies of its device nodes (devices/) and the record of its device
// cgroup (devices.json) go there. Returns once init has been exec'd; on any
// failure everything made so far is undone and lodge::Error says what
// failed.
RunningContainer start_container(const ContainerConfig& cfg, const std::string& console,
                                 const std::string& container_dir);

// True when the container's root filesystem (and so its host directory
// mounts) is mounted idmapped with its user namespace: unprivileged, and
// not on overlayfs (which can't be idmapped; its ownership is shifted on
// disk instead).
bool rootfs_idmapped(const ContainerConfig& cfg);

// The environment init starts with: container=lxc (what guests built for
// LXD expect), PATH, TERM, then cfg.env.
std::vector<std::string> init_environment(const ContainerConfig& cfg);

// The halt signal for cfg: its own, else SIGRTMIN+3 when init is systemd,
// SIGUSR1 when it is busybox, else SIGPWR.
int halt_signal_for(const ContainerConfig& cfg);

} // namespace lodge::runtime
