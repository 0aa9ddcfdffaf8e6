// Adding and removing mounts and device nodes of a running container from
// the host: detached mounts made on the host side, moved into the
// container's mount namespace by a thread that entered it.
#include "runtime/hotplug.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "common/reverter.hpp"
#include "runtime/device_cgroup.hpp"
#include "runtime/device_nodes.hpp"
#include "runtime/inject.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/rootfs.hpp"
#include "runtime/start.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <sched.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace lodge::runtime {

namespace {

// A running container, held for the length of one hot-plug call.
struct Target {
    std::string name;
    std::string dir; // its run directory
    ContainerConfig cfg;
    UniqueFd lock;
    UniqueFd pidfd; // init's
    pid_t init_pid = -1;
};

Target open_target(const std::string& run_dir, const std::string& name) {
    if (!valid_container_name(name)) throw Error(400, "invalid container name '" + name + "'");
    Target t;
    t.name = name;
    t.dir = container_run_dir(run_dir, name);
    // The lock comes first: the monitor's answer and the config must not
    // change under a call that has read them.
    t.lock.reset(::open((t.dir + "/hotplug.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!t.lock) {
        if (errno == ENOENT) throw Error(404, "container '" + name + "' is not running");
        throw_errno("open " + t.dir + "/hotplug.lock");
    }
    if (::flock(t.lock.get(), LOCK_EX) < 0) throw_errno("lock " + t.dir + "/hotplug.lock");
    auto state = MonitorClient::connect(run_dir, name).call("pidfd", t.pidfd);
    if (state.value("status", "") == "stopped" || !t.pidfd)
        throw Error(404, "container '" + name + "' is not running");
    t.init_pid = state.value("init_pid", -1);
    t.cfg = nlohmann::json::parse(read_file(t.dir + "/config.json")).get<ContainerConfig>();
    return t;
}

void save_config(const Target& t, const ContainerConfig& cfg) {
    nlohmann::json j = cfg;
    write_file_atomic(t.dir + "/config.json", j.dump(), 0600);
}

std::vector<std::string> cgroup_dirs(const Target& t) {
    std::vector<std::string> dirs;
    std::istringstream in(read_file(t.dir + "/cgroups"));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) dirs.push_back(line);
    return dirs;
}

// A namespace of init (user, mnt). Opened by pid, then
// checked through the pidfd: if init still lives after the open, the pid
// was not recycled and the namespace is its.
UniqueFd open_namespace(const Target& t, const char* which) {
    UniqueFd ns(::open(("/proc/" + std::to_string(t.init_pid) + "/ns/" + which).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || sys::pidfd_send_signal(t.pidfd.get(), 0) < 0)
        throw Error(404, "container '" + t.name + "' is not running");
    return ns;
}

// Runs fn(root fd of the container) in a thread that has entered the
// container's mount namespace (and only that: the thread stays the host's
// root). host_proc is an fd of the host's /proc, still reachable there.
void in_container_mounts(const Target& t, const std::function<void(int root_fd, int host_proc)>& fn) {
    UniqueFd host_proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!host_proc) throw_errno("open /proc");
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            // setns into a mount namespace needs a filesystem context of
            // our own, not the one the process's threads share.
            if (::unshare(CLONE_FS) < 0) throw_errno("unshare the filesystem context");
            if (::setns(t.pidfd.get(), CLONE_NEWNS) < 0) {
                if (errno == ESRCH) throw Error(404, "container '" + t.name + "' is not running");
                throw_errno("enter the mount namespace of container '" + t.name + "'");
            }
            UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!root) throw_errno("open the container's root");
            fn(root.get(), host_proc.get());
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) std::rethrow_exception(failure);
}

bool is_mount_root(int fd) {
    struct statx stx = {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0) throw_errno("statx");
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

// Detaches the mount whose root fd is: through the host's /proc, as the
// container's procfs does not know our thread, and by the fd itself, so
// nothing is looked up by name again.
void detach_mount(int fd, int host_proc) {
    if (::fchdir(host_proc) < 0) throw_errno("chdir to the host's /proc");
    std::string self = "self/fd/" + std::to_string(fd);
    if (::umount2(self.c_str(), MNT_DETACH) < 0) throw_errno("unmount");
}

bool gone(int err);

// Puts tree at target inside the container (see inject_locked_mount); a
// privileged container has no user namespace to lock anything against, so
// a thread in its mount namespace does it directly.
void place_mount(const Target& t, UniqueFd tree, const std::string& target, bool directory) {
    if (!t.cfg.privileged) {
        UniqueFd userns = open_namespace(t, "user"), mntns = open_namespace(t, "mnt");
        return inject_locked_mount(userns.get(), mntns.get(), t.dir, tree.get(), target, directory);
    }
    in_container_mounts(t, [&](int root, int) {
        UniqueFd dst;
        try {
            dst = directory ? make_dir_in_root(root, target) : make_file_in_root(root, target);
        } catch (const SystemError& e) {
            refuse_path(directory ? "mount target" : "device path", target, e);
        }
        move_onto(tree.get(), dst.get(), target);
    });
}

// Detaches what is mounted at path inside the container, if anything;
// `expect` (may be empty) decides on the fd of what is there whether it is
// ours. Symlinks are not followed: if the guest replaced the path, there is
// nothing of ours there any more.
void detach_at(const Target& t, const std::string& path, int open_flags,
               const std::function<bool(int fd)>& expect = {}) {
    in_container_mounts(t, [&](int root, int host_proc) {
        int fd = try_open_in_root(root, path, O_PATH | O_NOFOLLOW | open_flags, 0, true);
        if (gone(fd)) return;
        if (fd < 0) throw SystemError("open " + path + " inside the container", -fd);
        UniqueFd dst(fd);
        if (!is_mount_root(dst.get()) || (expect && !expect(dst.get()))) return;
        detach_mount(dst.get(), host_proc);
    });
}

void validate_target(const std::string& target) {
    if (target.empty() || target.front() != '/' || target.find_first_not_of('/') == std::string::npos)
        throw Error(400, "a mount's target must be an absolute path other than /");
}

// The device cgroup's rules from those of t.cfg to those of cfg; the undo
// goes to revert.
void change_device_rules(const Target& t, const ContainerConfig& cfg, Reverter& revert) {
    auto dirs = cgroup_dirs(t);
    DeviceRecord old;
    try {
        old = read_device_record(t.dir);
    } catch (const Error& e) {
        if (e.status() != 404) throw;
        old.rules = device_rules(t.cfg); // started before records were kept
    }
    DeviceRecord now{device_rules(cfg), {}};
    now.program = update_device_cgroup(dirs, old.rules, now.rules, old.program);
    write_device_record(t.dir, now);
    revert.add([dirs, old, now, dir = t.dir] {
        DeviceProgram back = update_device_cgroup(dirs, now.rules, old.rules, now.program);
        write_device_record(dir, {old.rules, back});
    });
}

// What a guest may have done to a path we placed: removed it, replaced a
// component with a symlink or a file. Then there is nothing of ours there.
bool gone(int err) { return err == -ENOENT || err == -ELOOP || err == -ENOTDIR || err == -EXDEV; }

} // namespace

void add_mount(const std::string& run_dir, const std::string& name, const Mount& mount) {
    validate_target(mount.target);
    if (mount.source.empty() || mount.source.front() != '/') throw Error(400, "a mount's source must be an absolute path");
    struct stat st;
    if (::stat(mount.source.c_str(), &st) < 0) {
        if (errno == ENOENT) throw Error(400, "mount source " + mount.source + " does not exist");
        throw_errno("stat " + mount.source);
    }
    if (!S_ISDIR(st.st_mode)) throw Error(400, "mount source " + mount.source + " is not a directory");

    Target t = open_target(run_dir, name);
    for (const auto& m : t.cfg.mounts)
        if (m.target == mount.target)
            throw Error(409, "container '" + name + "' already has a mount at " + mount.target);
    UniqueFd userns;
    if (mount.shift && rootfs_idmapped(t.cfg)) userns = open_namespace(t, "user");
    // Made on the host side, where source means the host's path.
    UniqueFd tree = clone_directory_mount(mount.source, mount.readonly, userns ? userns.get() : -1);
    place_mount(t, std::move(tree), mount.target, true);
    Reverter revert;
    revert.add([&] { detach_at(t, mount.target, O_DIRECTORY); });
    ContainerConfig cfg = t.cfg;
    cfg.mounts.push_back(mount);
    save_config(t, cfg);
    revert.success();
}

void remove_mount(const std::string& run_dir, const std::string& name, const std::string& target) {
    validate_target(target);
    Target t = open_target(run_dir, name);
    auto it = std::find_if(t.cfg.mounts.begin(), t.cfg.mounts.end(), [&](const Mount& m) { return m.target == target; });
    if (it == t.cfg.mounts.end()) throw Error(404, "container '" + name + "' has no mount at " + target);
    detach_at(t, target, O_DIRECTORY);
    ContainerConfig cfg = t.cfg;
    cfg.mounts.erase(cfg.mounts.begin() + (it - t.cfg.mounts.begin()));
    save_config(t, cfg);
}

void add_device(const std::string& run_dir, const std::string& name, const DeviceNode& node) {
    node.validate();
    Target t = open_target(run_dir, name);
    for (const auto& d : t.cfg.devices)
        if (d.path == node.path) throw Error(409, "container '" + name + "' already has a device node at " + node.path);
    ContainerConfig cfg = t.cfg;
    cfg.devices.push_back(node);
    cfg.validate(); // the owner must be in the id map

    Reverter revert;
    make_host_node(t.dir, node, t.cfg);
    std::string host_path = host_node_path(t.dir, node);
    revert.add([host_path] { ::unlink(host_path.c_str()); });

    // The rule first, so the node works as soon as it is visible.
    change_device_rules(t, cfg, revert);

    place_mount(t, clone_node_mount(host_path), node.path, false);
    revert.add([&] { detach_at(t, node.path, 0); });
    save_config(t, cfg);
    revert.success();
}

void remove_device(const std::string& run_dir, const std::string& name, const std::string& path) {
    Target t = open_target(run_dir, name);
    auto it = std::find_if(t.cfg.devices.begin(), t.cfg.devices.end(), [&](const DeviceNode& d) { return d.path == path; });
    if (it == t.cfg.devices.end()) throw Error(404, "container '" + name + "' has no device node at " + path);
    const DeviceNode node = *it;
    ContainerConfig cfg = t.cfg;
    cfg.devices.erase(cfg.devices.begin() + (it - t.cfg.devices.begin()));

    // The rule goes first: whatever the guest did with the node (a copy by
    // mknod is impossible unprivileged, but a bind elsewhere is not), it
    // stops working here.
    Reverter revert;
    change_device_rules(t, cfg, revert);

    in_container_mounts(t, [&](int root, int host_proc) {
        int fd = try_open_in_root(root, node.path, O_PATH | O_NOFOLLOW, 0, true);
        if (gone(fd)) return;
        if (fd < 0) throw SystemError("open " + node.path + " inside the container", -fd);
        UniqueFd dst(fd);
        struct stat st;
        if (::fstat(dst.get(), &st) < 0) throw_errno("stat " + node.path);
        bool ours = (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && (S_ISBLK(st.st_mode) == (node.type == 'b')) &&
                    st.st_rdev == makedev(node.major, node.minor);
        if (!ours || !is_mount_root(dst.get())) return; // unmounted or moved by the guest
        detach_mount(dst.get(), host_proc);
        // The mount point start or add_device made: an empty file.
        dst.reset(try_open_in_root(root, node.path, O_PATH | O_NOFOLLOW, 0, true));
        if (dst && ::fstat(dst.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
            auto slash = node.path.find_last_of('/');
            int parent = try_open_in_root(root, node.path.substr(0, slash), O_PATH | O_DIRECTORY, 0, true);
            if (parent >= 0) {
                UniqueFd p(parent);
                struct stat now_st;
                std::string leaf = node.path.substr(slash + 1);
                // Only if it is still the same file.
                if (::fstatat(p.get(), leaf.c_str(), &now_st, AT_SYMLINK_NOFOLLOW) == 0 && now_st.st_ino == st.st_ino &&
                    now_st.st_dev == st.st_dev)
                    ::unlinkat(p.get(), leaf.c_str(), 0);
            }
        }
    });
    save_config(t, cfg);
    revert.success();
    ::unlink(host_node_path(t.dir, node).c_str());
}

} // namespace lodge::runtime
