// The changes that let a VM's root filesystem boot its own init as a
// container (fstab, NIC names, units, machine-id, cloud-init), and what the
// guest is (os-release, architecture of its init). Used by VM disk imports
// and by `lodge migrate` on a tree copied from a running machine.
#pragma once

#include "images/vm/plan.hpp"

#include <string>
#include <vector>

namespace lodge::vm {

struct FixupOptions {
    bool keep_network = false;    // leave NIC names and addressing alone (allow-hotplug still becomes auto)
    bool keep_machine_id = false; // leave /etc/machine-id and /var/lib/dbus/machine-id alone
    bool dry_run = false;         // write nothing; the records are the same as a real run's
};

// Runs every fixup in order on root_fd (an O_PATH or O_DIRECTORY fd of the
// new root), appending one PlanFixup per change (and per finding worth an
// admin's eye, with an action starting "not changed:"). Every path is
// resolved inside root_fd; the guest tree is untrusted. Throws lodge::Error
// on I/O failures; files that are too large, not regular or missing are
// skipped (and recorded when they were expected).
void run_fixups(int root_fd, const FixupOptions& options, std::vector<PlanFixup>& out);

struct GuestOs {
    std::string id, name, version_id, version_codename, pretty_name;
    std::string
        architecture; // as LXD names it: x86_64, aarch64, i686, armv7l, ppc64le, s390x, riscv64; "" when unknown
};

// /etc/os-release, else /usr/lib/os-release; the architecture from the ELF
// header of the guest's init (/sbin/init, /lib/systemd/systemd, /bin/sh),
// symlinks followed only inside the root. Missing files leave fields empty.
GuestOs read_guest_os(int root_fd);

} // namespace lodge::vm
