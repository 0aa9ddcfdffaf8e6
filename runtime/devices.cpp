#include "runtime/devices.hpp"

#include "common/error.hpp"
#include "common/path.hpp"
#include "runtime/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace lodge::runtime {

namespace {

const char* const host_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

struct Link {
    const char* name;
    const char* target;
};
const Link dev_links[] = {
    {"fd", "/proc/self/fd"},     {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

} // namespace

void populate_dev(int root_fd, const DevOwner& o, const std::string& console) {
    const std::string ids = ",uid=" + std::to_string(o.uid) + ",gid=" + std::to_string(o.gid);
    mount_in_root(root_fd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=4m,nr_inodes=4096" + ids);
    UniqueFd dev = open_in_root(root_fd, "dev", O_PATH | O_DIRECTORY, 0, true);

    for (const char* node : host_nodes)
        bind_in_root(std::string("/dev/") + node, dev.get(), node, MS_NOSUID | MS_NOEXEC);

    mount_in_root(dev.get(), "pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620,gid=" + std::to_string(o.tty_gid));
    mount_in_root(dev.get(), "shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k" + ids);
    mount_in_root(dev.get(), "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");

    for (const auto& l : dev_links) {
        if (::symlinkat(l.target, dev.get(), l.name) < 0) throw_errno(std::string("symlink /dev/") + l.name);
        if (::fchownat(dev.get(), l.name, o.uid, o.gid, AT_SYMLINK_NOFOLLOW) < 0)
            throw_errno(std::string("chown /dev/") + l.name);
    }

    if (!console.empty()) {
        if (::chown(console.c_str(), o.uid, o.tty_gid) < 0) throw_errno("chown " + console);
        bind_in_root(console, dev.get(), "console", 0);
    }
}

} // namespace lodge::runtime
