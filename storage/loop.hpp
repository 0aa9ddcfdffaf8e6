// Loop devices and mount points for pools kept in a file.
#pragma once

#include <string>

namespace lodge::storage {

// Mounts the filesystem in `image` at `mount_point` through a free loop
// device that detaches itself when the filesystem is unmounted (or at once
// when the mount fails). `options` are mount options as in fstab.
void mount_image(const std::string& image, const std::string& mount_point, const std::string& fstype,
                 const std::string& options);

// Whether something is mounted at `path` (per /proc/self/mountinfo).
bool is_mount_point(const std::string& path);

} // namespace lodge::storage
