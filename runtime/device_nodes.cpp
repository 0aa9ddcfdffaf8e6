// The host side of a container's device nodes, and placing files inside its root.
#include "runtime/device_nodes.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace lodge::runtime {

namespace {

// FNV-1a: a stable short name for a path (not a security boundary: the
// host-side names are only ever chosen by lodge).
uint64_t fnv1a(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

} // namespace

std::string host_node_path(const std::string& container_dir, const DeviceNode& node) {
    char name[64];
    std::snprintf(name, sizeof name, "%c-%u-%u-%016llx", node.type, node.major, node.minor,
                  static_cast<unsigned long long>(fnv1a(node.path)));
    return container_dir + "/devices/" + name;
}

void make_host_node(const std::string& container_dir, const DeviceNode& node, const ContainerConfig& cfg) {
    node.validate();
    int64_t uid = cfg.privileged ? node.uid : cfg.idmap.host_uid(node.uid);
    int64_t gid = cfg.privileged ? node.gid : cfg.idmap.host_gid(node.gid);
    if (uid < 0 || gid < 0)
        throw Error(400, "device node " + node.path + ": owner " + std::to_string(node.uid) + ":" +
                             std::to_string(node.gid) + " is not in the container's id map");
    make_dirs(container_dir + "/devices", 0700);
    std::string path = host_node_path(container_dir, node);
    ::unlink(path.c_str());
    mode_t type = node.type == 'b' ? S_IFBLK : S_IFCHR;
    if (::mknod(path.c_str(), type | 0600, makedev(node.major, node.minor)) < 0) throw_errno("mknod " + path);
    // Owner first, then the mode: chown clears set-id bits.
    if (::lchown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0 ||
        ::chmod(path.c_str(), node.mode) < 0) {
        int err = errno;
        ::unlink(path.c_str());
        throw SystemError("set the owner and mode of " + path, err);
    }
}

void clear_host_nodes(const std::string& container_dir) {
    std::error_code ec;
    std::filesystem::remove_all(container_dir + "/devices", ec);
}

UniqueFd make_file_in_root(int root_fd, const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    if (leaf.empty() || leaf == "." || leaf == "..") throw Error(400, "invalid path " + path);
    UniqueFd parent = make_dir_in_root(root_fd, dir);
    int created = ::openat(parent.get(), leaf.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000);
    if (created >= 0)
        ::close(created);
    else if (errno != EEXIST)
        throw_errno("create " + path);
    UniqueFd fd(::openat(parent.get(), leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) throw_errno("stat " + path);
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
        throw Error(400, path + " is taken by a " + (S_ISLNK(st.st_mode) ? "symlink" : "directory"));
    return fd;
}

UniqueFd clone_node_mount(const std::string& host_path) {
    UniqueFd tree(sys::open_tree(AT_FDCWD, host_path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) throw_errno("clone a mount of " + host_path);
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    attr.attr_clr = MOUNT_ATTR_NODEV;
    if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) < 0) throw_errno("set the flags of " + host_path);
    return tree;
}

} // namespace lodge::runtime
