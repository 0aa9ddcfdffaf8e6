// Ownership shifting for root filesystems that cannot be idmapped, and the
// probe that tells whether one can be (see shift.hpp for the contract).
//
// Crash safety: before touching any inode, shift_tree and unshift_tree record
// "pending:<range>" on the root. Because the container range 0..size-1 and
// the host range base..base+size-1 may not overlap (check_range), every id
// says by itself whether it was moved yet, so a rerun of either call with the
// same range after a crash simply finishes the job in its own direction;
// pending with another range is refused. A failed pass is undone the same
// way before the error is thrown. What chown takes from a file (setuid bits,
// the capability) is kept on the file until it is back (detail::Kept), so
// the one window a crash could otherwise cost is closed too.
#include "runtime/shift.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "runtime/shift_internal.hpp"
#include "runtime/syscalls.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>

namespace lodge::runtime {

namespace {

using detail::IdMapper;
using detail::range_text;
using detail::ShiftRecord;

constexpr const char* record_xattr = "trusted.lodge.shift";
constexpr const char* kept_xattr = "trusted.lodge.shift.kept"; // see detail::Kept

// ---- can_idmap ----

// The errors by which the kernel says "no idmapped mounts here" (old kernel,
// a filesystem without FS_ALLOW_IDMAP, user namespaces turned off).
bool idmap_unsupported(int err) { return err == EINVAL || err == EPERM || err == ENOSYS || err == EOPNOTSUPP; }

struct ParkArgs {
    int read_fd;
    int write_fd;
};

// Runs in the parked child on our memory and our thread's TLS: raw system
// calls only, nothing that touches libc state.
int park(void* arg) {
    ParkArgs a = *static_cast<const ParkArgs*>(arg);
    ::syscall(SYS_close, a.write_fd); // else our own copy would keep the pipe open
    char c;
    ::syscall(SYS_read, a.read_fd, &c, 1);
    return 0;
}

// A child process parked in a new user namespace for the length of one probe.
// It shares our memory (CLONE_VM) so that making it copies no page tables
// however large the daemon has grown: the probe stays well under a
// millisecond. It blocks reading a pipe and exits when the pipe closes,
// which also happens if we die before reaping it.
class ParkedUserns {
public:
    ParkedUserns() {
        int p[2];
        check(::pipe2(p, O_CLOEXEC), "pipe");
        UniqueFd read_end(p[0]);
        hold_.reset(p[1]);
        args_ = {p[0], p[1]};

        // Born with every signal blocked, the child never runs one of our
        // handlers on our memory.
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        child_.pid = ::clone(park, stack_ + sizeof stack_, CLONE_VM | CLONE_NEWUSER | SIGCHLD, &args_);
        int err = errno;
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (child_.pid < 0) throw SystemError("create a user namespace", err);

        // Any mapping will do: the probe mount is never attached anywhere.
        std::string proc = "/proc/" + std::to_string(child_.pid);
        for (const char* map : {"/uid_map", "/gid_map"})
            if (int e = try_write_file(proc + map, "0 1000000 65536\n")) throw SystemError("write " + proc + map, e);
        ns_.reset(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns_) throw_errno("open " + proc + "/ns/user");
    }

    ParkedUserns(const ParkedUserns&) = delete;
    ParkedUserns& operator=(const ParkedUserns&) = delete;
    int fd() const { return ns_.get(); }

private:
    struct Child {
        pid_t pid = -1;
        ~Child() {
            if (pid <= 0) return;
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    };

    // Destroyed in reverse: the namespace fd, then the child (reaped before
    // its stack goes away), then the pipe.
    alignas(64) char stack_[8192];
    ParkArgs args_{-1, -1};
    UniqueFd hold_;
    Child child_;
    UniqueFd ns_;
};

// ---- inodes ----

// /proc/self/fd/N reaches the very inode an O_PATH descriptor holds; the
// f*xattr calls and fchmodat refuse O_PATH descriptors on older kernels.
class FdPath {
public:
    explicit FdPath(int fd) { std::snprintf(buf_, sizeof buf_, "/proc/self/fd/%d", fd); }
    const char* c_str() const { return buf_; }

private:
    char buf_[32];
};

// The value of xattr name, or nullopt when the inode (or its filesystem) has none.
std::optional<std::string> get_xattr(const FdPath& at, const char* name, const std::string& what) {
    char small[256];
    ssize_t n = ::getxattr(at.c_str(), name, small, sizeof small);
    if (n >= 0) return std::string(small, static_cast<size_t>(n));
    while (errno == ERANGE) {
        n = ::getxattr(at.c_str(), name, nullptr, 0);
        if (n < 0) break;
        std::string big(static_cast<size_t>(n), '\0');
        n = ::getxattr(at.c_str(), name, big.data(), big.size());
        if (n >= 0) {
            big.resize(static_cast<size_t>(n));
            return big;
        }
    }
    if (errno == ENODATA || errno == EOPNOTSUPP) return std::nullopt;
    throw_errno("read " + std::string(name) + " of " + what);
}

void set_xattr(const FdPath& at, const char* name, const std::string& value, const std::string& what) {
    if (::setxattr(at.c_str(), name, value.data(), value.size(), 0) < 0)
        throw_errno("write " + std::string(name) + " of " + what);
}

// One pass over a tree: checking (apply false) or moving ids. recover: an
// interrupted run may have left Kept metadata on some files.
struct Pass {
    IdMapper map;
    bool apply;
    bool recover;
};

// Everything a shift rewrites on one inode, read and checked before anything
// is written, so that a refused id leaves the inode as it was.
struct InodePlan {
    uint32_t uid, gid;
    bool chown;                      // the owner changes
    uint32_t mode;                   // permission bits, setuid/setgid included
    std::optional<std::string> kept; // raw Kept an interrupted run left
    std::optional<std::string> cap, access, dflt;
    std::string new_cap, new_access, new_dflt;
};

InodePlan plan_inode(const FdPath& at, const struct statx& st, const std::string& path, const Pass& p) {
    const IdMapper& m = p.map;
    InodePlan plan{};
    auto uid = m.uid(st.stx_uid);
    if (!uid) throw Error(detail::refused_id("uid", st.stx_uid, m.range.uid_base, m, path));
    auto gid = m.gid(st.stx_gid);
    if (!gid) throw Error(detail::refused_id("gid", st.stx_gid, m.range.gid_base, m, path));
    plan.uid = *uid;
    plan.gid = *gid;
    plan.chown = *uid != st.stx_uid || *gid != st.stx_gid;
    plan.mode = st.stx_mode & 07777;
    if (S_ISLNK(st.stx_mode)) return plan; // no ACLs or capabilities on symlinks

    plan.cap = get_xattr(at, "security.capability", path);
    if (p.recover && !S_ISDIR(st.stx_mode)) plan.kept = get_xattr(at, kept_xattr, path);
    if (plan.kept) {
        auto kept = detail::decode_kept(*plan.kept);
        if (!kept) throw Error(std::string(kept_xattr) + " of " + path + " is malformed; check its mode and "
                               "capability, remove the xattr and run again");
        plan.mode = kept->mode;
        plan.cap = kept->cap;
    }
    plan.access = get_xattr(at, "system.posix_acl_access", path);
    if (S_ISDIR(st.stx_mode)) plan.dflt = get_xattr(at, "system.posix_acl_default", path);
    if (plan.cap) plan.new_cap = detail::shift_cap_xattr(*plan.cap, m, path);
    if (plan.access) plan.new_access = detail::shift_acl_xattr(*plan.access, m, path);
    if (plan.dflt) plan.new_dflt = detail::shift_acl_xattr(*plan.dflt, m, path);
    return plan;
}

void apply_inode(int fd, const FdPath& at, const struct statx& st, const std::string& path, const InodePlan& plan) {
    bool special = plan.mode & (S_ISUID | S_ISGID);
    // chown takes setuid/setgid and the capability from non-directories:
    // kept on the file until they are back. A filesystem without trusted
    // xattrs has no capabilities, and then only a crash in between costs
    // the setuid bits.
    bool keep = plan.chown && !plan.kept && !S_ISDIR(st.stx_mode) && !S_ISLNK(st.stx_mode) && (special || plan.cap);
    if (keep) {
        std::string kept = detail::encode_kept({plan.mode, plan.cap});
        if (::setxattr(at.c_str(), kept_xattr, kept.data(), kept.size(), 0) < 0) {
            if (errno != EOPNOTSUPP) throw_errno("write " + std::string(kept_xattr) + " of " + path);
            keep = false;
        }
    }
    if (plan.chown && ::fchownat(fd, "", plan.uid, plan.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("chown " + path);
    if (S_ISLNK(st.stx_mode)) return;

    bool restore = plan.chown || plan.kept;
    if (restore && special && ::chmod(at.c_str(), plan.mode) < 0) throw_errno("chmod " + path);
    if (plan.access && plan.new_access != *plan.access)
        set_xattr(at, "system.posix_acl_access", plan.new_access, path);
    if (plan.dflt && plan.new_dflt != *plan.dflt) set_xattr(at, "system.posix_acl_default", plan.new_dflt, path);
    if (plan.cap && (restore || plan.new_cap != *plan.cap)) set_xattr(at, "security.capability", plan.new_cap, path);
    if ((keep || plan.kept) && ::removexattr(at.c_str(), kept_xattr) < 0 && errno != ENODATA)
        throw_errno("remove " + std::string(kept_xattr) + " of " + path);
}

// ---- the walk ----

struct statx stat_fd(int fd, const std::string& path) {
    struct statx st;
    if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) < 0) throw_errno("stat " + path);
    return st;
}

// Calls visit once for every inode under root on root's own mount. Each
// entry is opened O_PATH|O_NOFOLLOW relative to its directory and handled
// through that fd, so no symlink is ever followed and a name swapped during
// the walk cannot redirect it. Mount points (other filesystems, and bind
// mounts of the same one) are skipped with what lies below them; so are
// btrfs subvolumes, which have their own st_dev.
class TreeWalk {
public:
    using Visit = std::function<void(int fd, const struct statx& st, const std::string& path)>;

    TreeWalk(std::string root, Visit visit) : root_(std::move(root)), visit_(std::move(visit)) {}

    void run(int root_fd) {
        struct statx st = stat_fd(root_fd, root_);
        dev_major_ = st.stx_dev_major;
        dev_minor_ = st.stx_dev_minor;
        seen_.clear();
        visit_(root_fd, st, root_);
        std::string path = root_;
        walk_dir(root_fd, path);
    }

private:
    bool crosses_mount(const struct statx& st) const {
        if (st.stx_dev_major != dev_major_ || st.stx_dev_minor != dev_minor_) return true;
        return (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
    }

    void walk_dir(int dir_fd, std::string& path) {
        int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (list_fd < 0) throw_errno("open " + path);
        std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(list_fd), ::closedir);
        if (!dir) {
            int err = errno;
            ::close(list_fd);
            throw SystemError("open " + path, err);
        }
        size_t len = path.size();
        for (;;) {
            errno = 0;
            struct dirent* de = ::readdir(dir.get());
            if (!de) {
                if (errno) throw_errno("read directory " + path.substr(0, len));
                break;
            }
            std::string_view name = de->d_name;
            if (name == "." || name == "..") continue;
            path.resize(len);
            path += '/';
            path += name;
            UniqueFd fd(::openat(list_fd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!fd) throw_errno("open " + path);
            struct statx st = stat_fd(fd.get(), path);
            if (crosses_mount(st)) continue;
            // Hard links: the inode is moved once, under its first name.
            if (!S_ISDIR(st.stx_mode) && st.stx_nlink > 1 && !seen_.insert(st.stx_ino).second) continue;
            visit_(fd.get(), st, path);
            if (S_ISDIR(st.stx_mode)) walk_dir(fd.get(), path);
        }
        path.resize(len);
    }

    std::string root_;
    Visit visit_;
    uint32_t dev_major_ = 0;
    uint32_t dev_minor_ = 0;
    std::unordered_set<uint64_t> seen_; // inode numbers; one filesystem only
};

void shift_pass(int root_fd, const std::string& root, const Pass& p) {
    TreeWalk walk(root, [&](int fd, const struct statx& st, const std::string& path) {
        FdPath at(fd);
        InodePlan plan = plan_inode(at, st, path, p);
        if (p.apply) apply_inode(fd, at, st, path, plan);
    });
    walk.run(root_fd);
}

// ---- the record ----

// record_file_path always has a slash; "/.lodge-shifted.x" sits in "/".
std::string parent_of(const std::string& file) { return file.substr(0, std::max<size_t>(file.rfind('/'), 1)); }

void sync_path(const std::string& path, int flags) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags));
    if (!fd || ::fsync(fd.get()) < 0) throw_errno("sync " + path);
}

UniqueFd open_root(const std::string& root) {
    UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open " + root);
    return fd;
}

std::optional<ShiftRecord> read_record(int root_fd, const std::string& root) {
    std::string text;
    char buf[256];
    ssize_t n = ::fgetxattr(root_fd, record_xattr, buf, sizeof buf);
    if (n >= 0) {
        text.assign(buf, static_cast<size_t>(n));
    } else if (errno == ENODATA) {
        return std::nullopt;
    } else if (errno == EOPNOTSUPP) {
        std::string file = detail::record_file_path(root);
        if (::access(file.c_str(), F_OK) < 0) {
            if (errno == ENOENT) return std::nullopt;
            throw_errno("read " + file);
        }
        text = read_file(file);
    } else {
        throw_errno("read " + std::string(record_xattr) + " of " + root);
    }
    auto rec = detail::parse_record(text);
    if (!rec) throw Error("the shift record of " + root + " ('" + text + "') is malformed; correct or remove it");
    return rec;
}

// Durable before returning: a record must never claim less than the disk
// holds (pending is written before the first chown).
void write_record(int root_fd, const std::string& root, const ShiftRecord& rec) {
    std::string text = detail::format_record(rec);
    if (::fsetxattr(root_fd, record_xattr, text.data(), text.size(), 0) == 0) {
        if (::fsync(root_fd) < 0) throw_errno("sync " + root);
        return;
    }
    if (errno != EOPNOTSUPP) throw_errno("record the shift of " + root);
    std::string file = detail::record_file_path(root);
    write_file_atomic(file, text);
    sync_path(file, 0);
    sync_path(parent_of(file), O_DIRECTORY);
}

void clear_record(int root_fd, const std::string& root) {
    if (::fremovexattr(root_fd, record_xattr) == 0 || errno == ENODATA) {
        if (::fsync(root_fd) < 0) throw_errno("sync " + root);
        return;
    }
    if (errno != EOPNOTSUPP) throw_errno("clear the shift record of " + root);
    std::string file = detail::record_file_path(root);
    if (::unlink(file.c_str()) < 0 && errno != ENOENT) throw_errno("remove " + file);
    sync_path(parent_of(file), O_DIRECTORY);
}

// ---- shift and unshift ----

// After a failed pass: moves every id back and restores the record the run
// started from. Returns when that worked; throws an error saying both what
// failed and what state the tree is left in when it did not.
void roll_back(int root_fd, const std::string& root, const IdMapper& m, const Error& failure) {
    try {
        shift_pass(root_fd, root, {m.reversed(), true, true});
        if (::syncfs(root_fd) < 0) throw_errno("sync " + root);
        if (m.to_host)
            clear_record(root_fd, root);
        else
            write_record(root_fd, root, {m.range, false});
    } catch (const Error& undo) {
        throw Error(failure.status(), std::string(failure.what()) + "; undoing it failed too (" + undo.what() +
                                          "), so " + root +
                                          " is left partly shifted and recorded as pending: run shift_tree or "
                                          "unshift_tree on it again with " + range_text(m.range));
    }
}

void run_shift(const std::string& root, const ShiftRange& range, bool to_host) {
    detail::check_range(range, root);
    UniqueFd root_fd = open_root(root);
    auto rec = read_record(root_fd.get(), root);
    if (rec && !detail::same_range(rec->range, range)) {
        std::string verb = to_host ? "shift " : "unshift ";
        if (rec->pending)
            throw Error(409, "cannot " + verb + root + " with " + range_text(range) +
                                 ": an interrupted run left it partly shifted with " + range_text(rec->range) +
                                 "; finish that first with shift_tree or unshift_tree and that range");
        throw Error(409, "cannot " + verb + root + " with " + range_text(range) + ": it is shifted with " +
                             range_text(rec->range) + "; unshift it with that range first");
    }
    if (to_host && rec && !rec->pending) return; // done already
    if (!to_host && !rec) return;                // never shifted, or unshifted already

    bool interrupted = rec && rec->pending;
    // A first read-only pass: an id that cannot move is found before
    // anything changed.
    shift_pass(root_fd.get(), root, {{range, to_host, interrupted}, false, interrupted});

    write_record(root_fd.get(), root, {range, true});
    IdMapper move_map{range, to_host, true}; // pending from here on
    try {
        shift_pass(root_fd.get(), root, {move_map, true, interrupted});
    } catch (const Error& e) {
        roll_back(root_fd.get(), root, move_map, e);
        throw;
    }
    // Every chown on disk before the record says done.
    if (::syncfs(root_fd.get()) < 0) throw_errno("sync " + root);
    if (to_host)
        write_record(root_fd.get(), root, {range, false});
    else
        clear_record(root_fd.get(), root);
}

} // namespace

bool can_idmap(const std::string& path) {
    UniqueFd tree(sys::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) {
        if (idmap_unsupported(errno)) return false;
        throw_errno("open_tree " + path);
    }
    std::optional<ParkedUserns> userns;
    try {
        userns.emplace();
    } catch (const SystemError& e) {
        if (idmap_unsupported(e.code())) return false; // no user namespaces here
        throw;
    }
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns->fd());
    // The detached clone is dropped with its fd: nothing is ever mounted.
    if (sys::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr) == 0) return true;
    if (idmap_unsupported(errno)) return false;
    throw_errno("idmap a mount of " + path);
}

void shift_tree(const std::string& root, const ShiftRange& range) { run_shift(root, range, true); }

void unshift_tree(const std::string& root, const ShiftRange& range) { run_shift(root, range, false); }

bool shifted_range(const std::string& root, ShiftRange& out) {
    UniqueFd root_fd = open_root(root);
    auto rec = read_record(root_fd.get(), root);
    if (!rec || rec->pending) return false;
    out = rec->range;
    return true;
}

} // namespace lodge::runtime
