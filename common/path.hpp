// Resolving paths from requests and images inside their root, never outside
// it: openat2 with RESOLVE_IN_ROOT, so "..", absolute symlinks and magic
// links all stay under the root.
#pragma once

#include "common/fd.hpp"

#include <string>

namespace lodge {

// Opens `path` (absolute or relative, interpreted inside root_fd) with
// openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS. `flags` are open(2)
// flags; O_CLOEXEC is added. With no_symlinks, any symlink on the way is
// refused (ELOOP). Throws lodge::SystemError naming the path.
UniqueFd open_in_root(int root_fd, const std::string& path, int flags, unsigned mode = 0,
                      bool no_symlinks = false);

// The same, returning -errno instead of throwing.
int try_open_in_root(int root_fd, const std::string& path, int flags, unsigned mode = 0,
                     bool no_symlinks = false) noexcept;

// Makes directory `path` inside root_fd (missing parents too) without
// following any symlink, and returns an O_PATH fd of it. Throws if a
// component exists and is not a directory.
UniqueFd make_dir_in_root(int root_fd, const std::string& path, unsigned mode = 0755);

// A path as fstab(5) and /proc/self/mountinfo write it, with blanks and
// backslashes as three-digit octal escapes ("\040"), decoded.
std::string unescape_octal(const std::string& escaped);

// "/proc/self/fd/N": lets path-based calls (mount, chown) act on an fd
// obtained safely.
std::string fd_path(int fd);

} // namespace lodge
