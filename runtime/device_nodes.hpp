// Device nodes of a container's config (unix-char, unix-block): made by the
// host's root under the container's run directory, since an unprivileged
// container can't mknod, then bind-mounted to their path inside the
// container (at start, or later by hot-plug; see runtime/inject.hpp).
// Also how both make a mount point inside a container's root without
// following symlinks.
#pragma once

#include "common/fd.hpp"
#include "runtime/config.hpp"

#include <string>

namespace lodge::runtime {

// Where the host keeps `node` of the container whose run directory is
// container_dir: <container_dir>/devices/<type>-<major>-<minor>-<hash of path>.
std::string host_node_path(const std::string& container_dir, const DeviceNode& node);

// Makes the host's copy of node (replacing a stale one): mknod, owned by
// the node's uid/gid mapped through cfg's id map (as they are when the
// container is privileged), with its mode. Throws lodge::Error.
void make_host_node(const std::string& container_dir, const DeviceNode& node, const ContainerConfig& cfg);

// Removes every host node of the container (before a start makes them anew).
void clear_host_nodes(const std::string& container_dir);

// The mount point for a node or file at `path` inside root_fd: parent
// directories made when missing, an empty file made unless something that
// is neither a directory nor a symlink is there already. No symlink on the
// way is followed. Returns an O_PATH fd of it. Throws lodge::Error(400)
// when the path is taken by a directory or a symlink.
UniqueFd make_file_in_root(int root_fd, const std::string& path);

// A detached bind mount of the host node at host_path, ready to be moved
// onto its mount point: nosuid, noexec, and never nodev (the run directory
// may sit on a nodev /run).
UniqueFd clone_node_mount(const std::string& host_path);

} // namespace lodge::runtime
