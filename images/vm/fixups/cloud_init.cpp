// The cloud-init fixup: a VM's datasource (a metadata service, a config
// drive) is not there in a container; LXD-style cloud-init.* keys arrive
// as NoCloud. cloud-init's growpart and resize_rootfs are turned off: the
// root is no partition. The cached instance link is removed so the cached
// datasource of the VM is not reused and each container runs as a new
// instance (per-instance modules: host keys, users, the hostname); the
// history under /var/lib/cloud/instances stays.
#include "images/vm/fixups/steps.hpp"

namespace lodge::vm::detail {

void fix_cloud_init(Guest& guest) {
    if (!guest.stat("/usr/bin/cloud-init") && !guest.stat("/etc/cloud/cloud.cfg")) return;
    const std::string path = "/etc/cloud/cloud.cfg.d/99-lodge-datasource.cfg";
    const std::string content =
        "# Written by lodge: this system runs as a container, whose cloud-init data comes as NoCloud.\n"
        "datasource_list: [ NoCloud, None ]\n"
        "# The root filesystem is the container's, not a partition to grow.\n"
        "growpart:\n"
        "  mode: \"off\"\n"
        "resize_rootfs: false\n";
    auto existing = guest.read("cloud-init", path);
    if (!existing || *existing != content) {
        guest.record("cloud-init", path, "written: datasource_list [ NoCloud, None ], growpart and resize_rootfs off");
        guest.create(path, content, 0644);
    }
    const std::string instance = "/var/lib/cloud/instance";
    auto st = guest.stat(instance, false);
    if (st && S_ISLNK(st->st_mode)) {
        guest.record("cloud-init", instance, "removed: each container runs cloud-init as a new instance");
        guest.remove(instance);
    }
}

} // namespace lodge::vm::detail
