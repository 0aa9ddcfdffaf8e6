// /etc/hostname of a new or renamed instance says its name, as LXD's
// images arrange with their create-time templates; our images, made from
// plain root filesystems, carry none, and systemd would otherwise name
// the guest after the image.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lodge::daemon {

void write_guest_hostname(const std::string& rootfs, const std::string& name) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + rootfs);
    // Only an existing regular file, reached without any symlink: the image
    // decides whether it has one, and nothing in it may redirect the write.
    const int fd = try_open_in_root(root.get(), "etc/hostname", O_WRONLY | O_NOFOLLOW | O_NONBLOCK, 0, true);
    if (fd < 0) return;
    UniqueFd file(fd);
    struct stat st {};
    if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    const std::string text = name + "\n";
    if (::ftruncate(file.get(), 0) != 0 || ::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw_errno("write /etc/hostname of " + name);
}

} // namespace lodge::daemon
