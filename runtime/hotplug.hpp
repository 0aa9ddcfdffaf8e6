// Hot-plug: host directories and device nodes added to and removed from a
// running container, the way start puts them there. Called by the host's
// root (lodged, lodge-runtime) with the container's run directory and name.
//
// Every call:
// - holds <run dir>/<name>/hotplug.lock (flock) so calls on one container
//   run one at a time; calls on different containers don't wait;
// - finds init through the monitor (its pidfd, so a recycled pid is never
//   entered) and enters only the container's mount namespace, in a thread of
//   its own (unshare(CLONE_FS) + setns) or a forked helper, so a
//   multi-threaded caller is fine;
// - resolves paths inside the container's root without following any
//   symlink (the guest may have planted one): a symlink or a non-directory
//   on the way is refused with Error(400), nothing is ever mounted outside
//   the container's mount namespace; missing directories (and the mount
//   point of a node) are created as the container's root;
// - for an unprivileged container, puts mounts in through
//   inject_locked_mount (runtime/inject.hpp), so the guest can unmount
//   them but not change their flags (read-only stays read-only);
// - keeps <run dir>/<name>/config.json in step (the Mount or DeviceNode is
//   added or removed), and devices.json for device rules;
// - on failure undoes what it did and throws lodge::Error: 400 bad input,
//   404 the container does not run or has no such mount/device, 409 the
//   target or path is already in use by a mount or device of the config,
//   500 for system errors (message names the step and errno).
#pragma once

#include "runtime/config.hpp"

#include <string>

namespace lodge::runtime {

// Mounts host directory mount.source at mount.target inside the running
// container: a recursive bind, idmapped with the container's user namespace
// exactly as at start (host ownership shows as the same ids inside, nothing
// is chowned), nodev, read-only when asked. The target directory is created
// when missing.
void add_mount(const std::string& run_dir, const std::string& name, const Mount& mount);

// Detaches (MNT_DETACH: processes using it keep it until they let go) the
// mount at `target` that add_mount or the config put there, and drops it
// from the config. The target directory stays. Error(404) when the config
// has no mount at target; a mount the guest already unmounted is not an
// error.
void remove_mount(const std::string& run_dir, const std::string& name, const std::string& target);

// Makes node inside the running container: the host's copy under
// <run dir>/<name>/devices/, owned by the node's ids mapped to the host,
// bound onto node.path (an empty file is made as mount point, parents as
// needed), and an rwm rule for it added to the device cgroup (v1 allow
// line, v2 program replaced atomically) before it is visible.
void add_device(const std::string& run_dir, const std::string& name, const DeviceNode& node);

// Undoes add_device (or a node of the config) for the node at `path`: its
// cgroup rule is withdrawn first (a node the guest copied or bound
// elsewhere stops working too), then the node is unmounted inside, the
// empty mount point file removed, the host's copy deleted. Error(404) when
// the config has no node at path.
void remove_device(const std::string& run_dir, const std::string& name, const std::string& path);

} // namespace lodge::runtime
