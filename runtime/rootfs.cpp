#include "runtime/rootfs.hpp"

#include "common/error.hpp"
#include "common/path.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace lodge::runtime {

namespace {

// Files of /proc that leak host state or act on the host kernel; each is
// covered with /dev/null.
const char* const masked_proc_files[] = {
    "sysrq-trigger", "kcore", "kmsg", "timer_list", "keys", "sched_debug",
    "latency_stats", "timer_stats", "kpageflags", "kpagecount", "kpagecgroup", "config.gz",
};
// Directories of /proc covered with an empty read-only tmpfs.
const char* const masked_proc_dirs[] = {"acpi", "scsi", "bus", "irq", "fs/nfsd", "driver"};

void remount_flags(const std::string& path, unsigned long flags) {
    if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) < 0)
        throw_errno("remount " + path);
}

} // namespace

void mount_in_root(int root_fd, const std::string& target, const char* fstype, unsigned long flags,
                   const std::string& data, unsigned mode) {
    UniqueFd dir = make_dir_in_root(root_fd, target, mode);
    if (::mount(fstype, fd_path(dir.get()).c_str(), fstype, flags, data.empty() ? nullptr : data.c_str()) < 0)
        throw_errno("mount " + std::string(fstype) + " on " + target);
}

void bind_in_root(const std::string& source, int root_fd, const std::string& target, unsigned long extra_flags) {
    struct stat st;
    if (::stat(source.c_str(), &st) < 0) throw_errno("stat " + source);
    UniqueFd dst;
    if (S_ISDIR(st.st_mode)) {
        dst = make_dir_in_root(root_fd, target);
    } else {
        auto slash = target.find_last_of('/');
        UniqueFd parent = make_dir_in_root(root_fd, slash == std::string::npos ? "" : target.substr(0, slash));
        std::string leaf = slash == std::string::npos ? target : target.substr(slash + 1);
        int fd = ::openat(parent.get(), leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            int created = ::openat(parent.get(), leaf.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (created < 0) throw_errno("create " + target);
            ::close(created);
            fd = ::openat(parent.get(), leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) throw_errno("open " + target);
        dst.reset(fd);
        struct stat tst;
        if (::fstat(dst.get(), &tst) < 0 || S_ISLNK(tst.st_mode) || S_ISDIR(tst.st_mode))
            throw Error("cannot bind " + source + " onto " + target + ": target is a symlink or a directory");
    }
    // A detached copy, flagged, then moved onto the target: the flags are
    // set on the new mount itself, which a path through the target's fd
    // would not reach.
    UniqueFd tree(sys::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) throw_errno("clone mount of " + source);
    if (extra_flags) {
        struct mount_attr attr = {};
        if (extra_flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
        if (extra_flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
        if (extra_flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
        if (extra_flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
        if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) < 0) throw_errno("set flags on " + source);
    }
    if (sys::move_mount(tree.get(), "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("bind " + source + " onto " + target);
}

UniqueFd mount_root(const std::string& rootfs, int userns_fd) {
    // Nothing done in this mount namespace reaches the host, and nothing the
    // host mounts later reaches the container.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) throw_errno("make / private");

    UniqueFd tree(sys::open_tree(AT_FDCWD, rootfs.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree) throw_errno("open_tree " + rootfs);
    if (userns_fd >= 0) {
        struct mount_attr attr = {};
        attr.attr_set = MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<uint64_t>(userns_fd);
        if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
            throw_errno("idmap the root filesystem " + rootfs);
    }
    if (sys::move_mount(tree.get(), "", AT_FDCWD, rootfs.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
        throw_errno("mount root filesystem " + rootfs);
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + rootfs);
    return root;
}

UniqueFd clone_directory_mount(const std::string& source, bool readonly, int userns_fd) {
    UniqueFd tree(sys::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree) throw_errno("clone mount of " + source);
    struct mount_attr attr = {};
    if (userns_fd >= 0) {
        attr.attr_set |= MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<uint64_t>(userns_fd);
    }
    if (readonly) attr.attr_set |= MOUNT_ATTR_RDONLY;
    attr.attr_set |= MOUNT_ATTR_NODEV;
    if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
        throw_errno("set up the mount of " + source);
    return tree;
}

void mount_directory(int root_fd, const std::string& source, const std::string& target, bool readonly,
                     int userns_fd) {
    UniqueFd dst = open_in_root(root_fd, target, O_PATH | O_DIRECTORY, 0, true);
    UniqueFd tree = clone_directory_mount(source, readonly, userns_fd);
    if (sys::move_mount(tree.get(), "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("mount " + source + " on " + target);
}

void mount_proc(int root_fd) {
    mount_in_root(root_fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
    UniqueFd proc = open_in_root(root_fd, "proc", O_PATH | O_DIRECTORY, 0, true);
    std::string base = fd_path(proc.get());

    // /proc/sys read-only: bound onto itself, then remounted.
    std::string sys = base + "/sys";
    if (::mount(sys.c_str(), sys.c_str(), nullptr, MS_BIND, nullptr) < 0) throw_errno("bind /proc/sys");
    remount_flags(sys, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);

    for (const char* name : masked_proc_files) {
        std::string path = base + "/" + name;
        if (::access(path.c_str(), F_OK) < 0) continue;
        if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) < 0) throw_errno("mask /proc/" + std::string(name));
    }
    for (const char* name : masked_proc_dirs) {
        std::string path = base + "/" + name;
        struct stat st;
        if (::stat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
        if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555") < 0)
            throw_errno("mask /proc/" + std::string(name));
    }
}

void mount_sys(int root_fd) {
    mount_in_root(root_fd, "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
}

void pivot_into(const std::string& root_path) {
    if (::chdir(root_path.c_str()) < 0) throw_errno("chdir " + root_path);
    // pivot_root(".", ".") stacks the old root under the new one, where a
    // lazy unmount removes it without needing a directory for it.
    if (sys::pivot_root(".", ".") < 0) throw_errno("pivot_root");
    if (::umount2(".", MNT_DETACH) < 0) throw_errno("detach the old root");
    if (::chdir("/") < 0) throw_errno("chdir /");
}

} // namespace lodge::runtime
