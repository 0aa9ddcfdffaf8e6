// Guest readiness, which LXD does not offer: whether the guest's own init
// says it has finished booting. systemd guests are asked over their system
// D-Bus (SystemState "running" or "degraded"); other inits are ready when
// none of the container's processes is running (a waiter asks several
// times in a row to see it settled).
#pragma once

#include <sys/types.h>

#include <string>

namespace lodge::daemon {

enum class Readiness {
    booting,
    ready,    // systemd: running; other inits: settled
    degraded, // systemd: up, with failed units
    stopping, // systemd: stopping or offline
};

std::string to_string(Readiness r);

// Asks once, without waiting. init_pid is the host pid of the container's init.
Readiness guest_readiness(pid_t init_pid);

// True for systemd guests (their answer needs no settling).
bool asks_systemd(pid_t init_pid);

} // namespace lodge::daemon
