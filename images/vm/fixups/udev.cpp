// The udev fixup: persistent-net rules pin NIC names to the VM's MAC
// addresses; in a container they can never match, and a later move back
// to a VM would rename the NIC away from its configuration.
#include "images/vm/fixups/steps.hpp"

namespace lodge::vm::detail {

void fix_udev(Guest& guest) {
    const std::string dir = "/etc/udev/rules.d";
    for (const auto& n : guest.list(dir)) {
        bool persistent_net =
            n.find("persistent-net") != std::string::npos && n.size() > 6 && n.compare(n.size() - 6, 6, ".rules") == 0;
        if (!persistent_net) continue;
        std::string path = dir + "/" + n;
        // A link to /dev/null is how an admin disables the generator; it
        // is not a leftover.
        if (guest.link_target(path) == "/dev/null") continue;
        auto st = guest.stat(path, false);
        if (!st || S_ISDIR(st->st_mode)) continue;
        guest.record("udev", path, "removed: names NICs by the VM's MAC addresses");
        guest.remove(path);
    }
}

} // namespace lodge::vm::detail
