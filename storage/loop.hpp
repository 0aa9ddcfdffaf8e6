// Loop devices and mount points for pools kept in a file.
#pragma once

#include "common/fd.hpp"

#include <cstdint>
#include <string>

namespace lodge::storage {

// A loop device over a byte range of a file, attached with autoclear: it
// detaches itself when its last user (this fd, or a mount made from it) goes,
// so nothing outlives a killed process.
struct LoopRange {
    std::uint64_t offset = 0;
    std::uint64_t size = 0; // 0: to the end of the file
    bool read_only = false;
};

class LoopDevice {
public:
    using Range = LoopRange;
    // `file_fd` is only used while attaching.
    static LoopDevice attach(int file_fd, const std::string& name, const Range& range);
    static LoopDevice attach(const std::string& file, const Range& range = {});

    const std::string& path() const { return path_; }
    int fd() const { return fd_.get(); }
    // Mounts it; the mount then keeps the device (see detach-on-close above).
    void mount(const std::string& mount_point, const std::string& fstype, const std::string& options) const;

private:
    LoopDevice(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::string path_;
};

// Mounts the filesystem in `image` at `mount_point` through a free loop
// device that detaches itself when the filesystem is unmounted (or at once
// when the mount fails). `options` are mount options as in fstab.
void mount_image(const std::string& image, const std::string& mount_point, const std::string& fstype,
                 const std::string& options);

// Whether something is mounted at `path` (per /proc/self/mountinfo).
bool is_mount_point(const std::string& path);

} // namespace lodge::storage
