// The container's filesystem tree, built by the host's root in the
// container's new mount namespace before init drops its privileges: the
// root filesystem (idmapped), /proc with its dangerous parts masked, a
// read-only /sys, then pivot_root. Every mount point is resolved inside the
// root without following symlinks, so an image cannot aim a mount at a host
// path.
#pragma once

#include "common/fd.hpp"

#include <string>

namespace lodge::runtime {

// Mounts rootfs on top of itself: idmapped through userns_fd, or a plain
// recursive bind when userns_fd < 0 (privileged, or ownership shifted on
// disk). Returns an O_PATH fd of the new mount's root.
UniqueFd mount_root(const std::string& rootfs, int userns_fd);

// A detached recursive copy of the mount of host directory `source`, set up
// as a container sees it: idmapped with userns_fd (-1: not), nodev, and
// read-only when asked; ready for move_mount.
UniqueFd clone_directory_mount(const std::string& source, bool readonly, int userns_fd);

// Mounts source (a host directory) on target inside the mounted root, idmapped
// with userns_fd (-1: not), read-only when asked. The target directory must
// exist already (made through the raw root, as the host's root cannot create
// through an idmapped mount); no symlink on its way is followed.
void mount_directory(int root_fd, const std::string& source, const std::string& target, bool readonly,
                     int userns_fd);

// /proc: a fresh procfs of the container's pid namespace, with
// sysrq-trigger, kcore, kmsg, timer_list, keys and friends masked and
// /proc/sys read-only. Because these mounts are made by the host's root,
// they are locked once init enters its own user and mount namespaces: they
// can't be unmounted from inside, and a fresh procfs can't be mounted
// beside them to see past them.
void mount_proc(int root_fd);

// /sys: the container's sysfs (its network namespace's view), read-only.
void mount_sys(int root_fd);

// Makes root_path the root of the mount namespace and detaches the old one.
void pivot_into(const std::string& root_path);

// Mounts fstype at `target` (inside root_fd) with flags and data.
void mount_in_root(int root_fd, const std::string& target, const char* fstype, unsigned long flags,
                   const std::string& data, unsigned mode = 0755);

// Bind-mounts host path `source` onto `target` inside root_fd; the target
// (a file or directory like the source) is created when missing.
void bind_in_root(const std::string& source, int root_fd, const std::string& target, unsigned long extra_flags);

} // namespace lodge::runtime
