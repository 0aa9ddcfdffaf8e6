// Attaching image files to loop devices ourselves (LOOP_CTL_GET_FREE, then
// LOOP_CONFIGURE with autoclear) so no losetup runs and no device outlives
// its mount.
#include "storage/loop.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/path.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

namespace lodge::storage {

namespace {

// Splits fstab-style options into mount flags and the filesystem's own data.
std::pair<unsigned long, std::string> parse_options(const std::string& options) {
    static const std::pair<const char*, unsigned long> flags[] = {
        {"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},   {"nodev", MS_NODEV},
        {"noexec", MS_NOEXEC},     {"noatime", MS_NOATIME}, {"nodiratime", MS_NODIRATIME},
        {"relatime", MS_RELATIME}, {"sync", MS_SYNCHRONOUS}, {"lazytime", MS_LAZYTIME},
    };
    unsigned long mount_flags = 0;
    std::string data;
    std::stringstream in(options);
    for (std::string opt; std::getline(in, opt, ',');) {
        if (opt.empty() || opt == "rw" || opt == "defaults") continue;
        bool known = false;
        for (const auto& [name, flag] : flags)
            if (opt == name) {
                mount_flags |= flag;
                known = true;
            }
        if (!known) data += (data.empty() ? "" : ",") + opt;
    }
    return {mount_flags, data};
}


} // namespace

LoopDevice LoopDevice::attach(int file_fd, const std::string& name, const Range& range) {
    UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!control) throw_errno("opening /dev/loop-control");
    for (int attempt = 0; attempt < 64; ++attempt) {
        int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (n < 0) throw_errno("finding a free loop device");
        std::string path = "/dev/loop" + std::to_string(n);
        UniqueFd loop(::open(path.c_str(), (range.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
        if (!loop) {
            if (errno == ENOENT) { // devtmpfs has not made the node yet
                ::usleep(10000);
                continue;
            }
            throw_errno("opening " + path);
        }
        loop_config config{};
        config.fd = static_cast<__u32>(file_fd);
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (range.read_only ? LO_FLAGS_READ_ONLY : 0);
        config.info.lo_offset = range.offset;
        config.info.lo_sizelimit = range.size;
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), name.c_str(), LO_NAME_SIZE - 1);
        if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return LoopDevice(std::move(loop), path);
        // Someone else took this one between GET_FREE and CONFIGURE.
        if (errno != EBUSY) throw_errno("attaching " + name + " to " + path);
    }
    throw Error(503, "no free loop device for " + name + " after 64 attempts");
}

LoopDevice LoopDevice::attach(const std::string& file, const Range& range) {
    UniqueFd fd(::open(file.c_str(), (range.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw_errno("opening " + file);
    return attach(fd.get(), file, range);
}

void LoopDevice::mount(const std::string& mount_point, const std::string& fstype, const std::string& options) const {
    auto [flags, data] = parse_options(options);
    if (::mount(path_.c_str(), mount_point.c_str(), fstype.c_str(), flags, data.c_str()) < 0)
        throw_errno("mounting " + path_ + " (" + fstype + ") at " + mount_point);
}

void mount_image(const std::string& image, const std::string& mount_point, const std::string& fstype,
                 const std::string& options) {
    // Closing the device's fd leaves the mount as its only user: autoclear
    // detaches it when the filesystem goes.
    LoopDevice::attach(image).mount(mount_point, fstype, options);
}

bool is_mount_point(const std::string& path) {
    // mountinfo names mount points by their real path.
    std::string real = path;
    if (char* resolved = ::realpath(path.c_str(), nullptr)) {
        real = resolved;
        std::free(resolved);
    }
    std::istringstream in(read_file("/proc/self/mountinfo"));
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        if (unescape_octal(point) == real) return true;
    }
    return false;
}

} // namespace lodge::storage
