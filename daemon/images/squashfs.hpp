// Squashfs root filesystems of split images, read as tar streams: sqfs2tar
// (squashfs-tools-ng) turns the image into a tar, which then passes through
// the same entry checks and chrooted libarchive unpacking as any tarball.
// Nothing is ever unsquashed straight into a directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lodge::daemon {

// Whether data starts like a squashfs filesystem ("hsqs").
bool is_squashfs(std::string_view data);

// Writes the tar form of the squashfs open at squashfs_fd to out_fd (a
// regular file lodged opened). sqfs2tar runs with a fixed argv, no shell,
// an empty environment, as nobody without new privileges, and at most
// max_output bytes of output. Error(400) with sqfs2tar's message when the
// file is not a squashfs it can read or unpacks beyond the limit,
// Error(500) when the tool is missing.
void squashfs_to_tar(int squashfs_fd, int out_fd, std::int64_t max_output);

} // namespace lodge::daemon
