// The machine-id fixup: every container made from the image must get its
// own machine id (journald, DHCP client ids and D-Bus use it).
// /etc/machine-id is emptied, not deleted: systemd then generates a fresh
// id at each instance's first boot without treating it as a first boot
// ("uninitialized" would run presets over the admin's unit choices).
// SSH host keys are identity too, but only noted: see note_ssh_host_keys.
#include "images/vm/fixups/steps.hpp"

namespace lodge::vm::detail {

void fix_machine_id(Guest& guest) {
    if (guest.options().keep_machine_id) return;
    const std::string etc = "/etc/machine-id";
    if (auto id = guest.read("machine-id", etc)) {
        std::string t = trim(*id);
        while (!t.empty() && t.back() == '\n') t.pop_back();
        if (!t.empty() && t != "uninitialized") {
            guest.record("machine-id", etc, "emptied: each instance generates its own machine id at first boot");
            guest.replace(etc, "");
        }
    }
    // D-Bus falls back to /etc/machine-id; a symlink to it is already right.
    const std::string dbus = "/var/lib/dbus/machine-id";
    auto st = guest.stat(dbus, false);
    if (st && S_ISREG(st->st_mode)) {
        guest.record("machine-id", dbus, "removed: D-Bus then uses /etc/machine-id");
        guest.remove(dbus);
    }
}

void note_ssh_host_keys(Guest& guest) {
    // cloud-init regenerates them for each new instance (see cloud_init.cpp);
    // without it, deleting them would leave Debian's sshd unable to start.
    if (guest.stat("/usr/bin/cloud-init") || guest.stat("/etc/cloud/cloud.cfg")) return;
    for (const auto& n : guest.list("/etc/ssh"))
        if (starts_with(n, "ssh_host_") && n.size() > 4 && n.compare(n.size() - 4, 4, "_key") == 0) {
            guest.record("machine-id", "/etc/ssh",
                         "not changed: the SSH host keys are the VM's; every instance of this image shares them "
                         "until they are regenerated (rm /etc/ssh/ssh_host_*; ssh-keygen -A)");
            return;
        }
}

} // namespace lodge::vm::detail
