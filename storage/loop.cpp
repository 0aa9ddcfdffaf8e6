// Attaching image files to loop devices ourselves (LOOP_CTL_GET_FREE, then
// LOOP_CONFIGURE with autoclear) so no losetup runs and no device outlives
// its mount.
#include "storage/loop.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <utility>

namespace lodge::storage {

namespace {

struct LoopDevice {
    UniqueFd fd;
    std::string path;
};

LoopDevice attach(const std::string& image) {
    UniqueFd file(::open(image.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!file) throw_errno("opening " + image);
    UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!control) throw_errno("opening /dev/loop-control");
    for (int attempt = 0; attempt < 64; ++attempt) {
        int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (n < 0) throw_errno("finding a free loop device");
        std::string path = "/dev/loop" + std::to_string(n);
        UniqueFd loop(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!loop) {
            if (errno == ENOENT) { // devtmpfs has not made the node yet
                ::usleep(10000);
                continue;
            }
            throw_errno("opening " + path);
        }
        loop_config config{};
        config.fd = static_cast<__u32>(file.get());
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
        if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return {std::move(loop), path};
        // Someone else took this one between GET_FREE and CONFIGURE.
        if (errno != EBUSY) throw_errno("attaching " + image + " to " + path);
    }
    throw Error(503, "no free loop device for " + image + " after 64 attempts");
}

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

std::string unescape_mountinfo(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

} // namespace

void mount_image(const std::string& image, const std::string& mount_point, const std::string& fstype,
                 const std::string& options) {
    LoopDevice loop = attach(image);
    auto [flags, data] = parse_options(options);
    if (::mount(loop.path.c_str(), mount_point.c_str(), fstype.c_str(), flags, data.c_str()) < 0)
        throw_errno("mounting " + image + " (" + loop.path + ") at " + mount_point);
    // Closing our fd leaves the mount as the device's only user: autoclear
    // detaches it when the filesystem goes.
}

bool is_mount_point(const std::string& path) {
    std::istringstream in(read_file("/proc/self/mountinfo"));
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        if (unescape_mountinfo(point) == path) return true;
    }
    return false;
}

} // namespace lodge::storage
