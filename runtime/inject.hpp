// Putting a detached mount made by the host's root into a container's
// mount namespace, for start (the config's mounts and device nodes) and
// hot-plug alike.
#pragma once

#include "common/error.hpp"

#include <string>

namespace lodge::runtime {

// Moves `tree` (a detached mount the host's root made and set up) into the
// mount namespace mntns_fd of a container whose user namespace is
// userns_fd, at `target` (a directory, or a file for a device node; made
// as the container's root when missing, no symlink followed: Error(400)),
// with its flags locked. A mount the host's root puts straight into the
// container's namespace is not locked: the guest's root could remount a
// read-only disk writable. The kernel locks the flags of every mount it
// copies into a mount namespace of a less privileged user namespace, so the
// tree goes that way: a forked helper parks it in a private mount namespace
// (on a tmpfs over park_dir, which only the helper sees), joins the
// container's user namespace as its root, copies its mount namespace
// (locking the flags), clones the tree from the copy and moves the clone
// into the container. The guest may still unmount it (nothing hides below)
// and the host's root can. Fork-safe for a multi-threaded caller.
void inject_locked_mount(int userns_fd, int mntns_fd, const std::string& park_dir, int tree,
                         const std::string& target, bool directory);

// Error(400) naming the path when e says a symlink or a non-directory was
// in the way (ELOOP, ENOTDIR, EXDEV), else e itself.
[[noreturn]] void refuse_path(const std::string& what, const std::string& path, const SystemError& e);

// move_mount of a detached tree onto an O_PATH fd.
void move_onto(int tree, int target, const std::string& what);

} // namespace lodge::runtime
