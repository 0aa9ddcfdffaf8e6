// Ownership for root filesystems that cannot be idmapped (overlayfs, old
// kernels): shift every uid/gid on disk once into the container's host range,
// POSIX ACLs and file capabilities included, and record that it was done so
// it is never done twice.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace lodge::runtime {

// True when the kernel can idmap a mount of this directory (open_tree +
// mount_setattr(MOUNT_ATTR_IDMAP) succeeds on it with a throwaway user
// namespace). Cheap enough to call at every start; the answer depends on the
// filesystem under path.
bool can_idmap(const std::string& path);

struct ShiftRange {
    uint32_t uid_base; // host uid of container uid 0
    uint32_t gid_base; // host gid of container gid 0
    uint32_t size;     // ids 0..size-1 are shifted; others are refused
};

// Shifts ownership of the tree at root so that id N becomes base+N, for
// every inode (files, dirs, symlinks via lchown, device nodes), keeping
// setuid/setgid bits (chown clears them, so they are restored), rewriting
// the ids inside system.posix_acl_access / system.posix_acl_default and the
// rootid of security.capability (v3). Hard links are shifted once. Does not
// cross filesystem boundaries (nor mount points, nor btrfs subvolumes).
// Records the range in an xattr on root (trusted.lodge.shift) and in
// <parent>/.lodge-shifted.<basename of root> when xattrs are not supported,
// and is a no-op when the same range is already recorded.
// Throws lodge::Error if a different range is recorded, if the host range
// overlaps 0..size-1, or if an id on disk is outside 0..size-1 (the error
// names the file; nothing has changed then). Crash-safe: a run interrupted
// midway leaves the record "pending", and calling shift_tree or unshift_tree
// again with the same range finishes the job in that direction. If a pass
// fails midway (an immutable file, a full disk), it is undone before the
// error is thrown.
void shift_tree(const std::string& root, const ShiftRange& range);

// The reverse of shift_tree (back to ids 0..size-1); clears the record. A
// no-op when nothing is recorded. Throws when an id on disk is outside the
// host range (e.g. a file host root created after the shift).
void unshift_tree(const std::string& root, const ShiftRange& range);

// The range recorded on root, if any: returns false when none, and also
// while a shift is pending (an interrupted run: the tree is not usable until
// shift_tree or unshift_tree finishes it).
bool shifted_range(const std::string& root, ShiftRange& out);

} // namespace lodge::runtime
