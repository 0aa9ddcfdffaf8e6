// /boot and the kernel stay in the image (a later move back to a VM needs
// them, and the package manager owns them). Nothing is changed: Debian's
// and Ubuntu's grub hooks and grub-pc's postinst skip themselves in a
// container (systemd-detect-virt --container), and update-initramfs,
// dracut and kernel-install only write files under /boot. The plan notes
// which of them the guest has, so an admin knows what a kernel update
// will still do inside the container.
#include "images/vm/fixups/steps.hpp"

namespace lodge::vm::detail {

void note_boot(Guest& guest) {
    std::vector<std::string> found;
    for (const char* dir : {"/etc/kernel/postinst.d", "/etc/kernel/install.d"}) {
        auto hooks = guest.list(dir);
        if (!hooks.empty()) {
            found.push_back(std::string(dir) + " (" + join_words(hooks) + ")");
        }
    }
    for (const char* tool :
         {"/usr/sbin/update-grub", "/usr/sbin/grub-mkconfig", "/usr/sbin/grub2-mkconfig", "/usr/sbin/update-initramfs",
          "/usr/bin/dracut", "/usr/bin/kernel-install", "/sbin/mkinitfs"})
        if (guest.stat(tool)) found.push_back(tool);
    if (found.empty()) return;
    std::string list;
    for (const auto& f : found) list += (list.empty() ? "" : "; ") + f;
    guest.record("boot", "/boot",
                 "not changed: kernels and /boot are kept; kernel updates will run " + list +
                     ", which only write under /boot or skip themselves in a container");
}

} // namespace lodge::vm::detail
