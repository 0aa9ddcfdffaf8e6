// Ownership shifting for root filesystems that cannot be idmapped, and the
// probe that tells whether one can be (see shift.hpp for the contract).
//
// Crash safety: before touching any inode, shift_tree and unshift_tree record
// "pending:<range>" on the root. Because the container range 0..size-1 and
// the host range base..base+size-1 may not overlap (check_range), every id
// says by itself whether it was moved yet, so a rerun of either call with the
// same range after a crash simply finishes the job in its own direction;
// pending with another range is refused. A failed pass is undone the same
// way before the error is thrown.
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

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>

namespace lodge::runtime {

// ---- pure helpers (declared in shift_internal.hpp) ----

namespace detail {
namespace {

constexpr uint16_t acl_tag_user = 0x02;
constexpr uint16_t acl_tag_group = 0x08;
constexpr uint32_t acl_version = 2;
constexpr size_t acl_header_size = 4;
constexpr size_t acl_entry_size = 8; // e_tag u16, e_perm u16, e_id u32

constexpr uint32_t cap_revision_mask = 0xFF000000;
constexpr uint32_t cap_revision_2 = 0x02000000;
constexpr uint32_t cap_revision_3 = 0x03000000;
constexpr size_t cap_v2_size = 20; // magic_etc, {permitted, inheritable} x 2
constexpr size_t cap_v3_size = 24; // v2 + rootid
constexpr size_t cap_rootid_at = 20;

uint32_t load_le(std::string_view s, size_t at, size_t bytes) {
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    return v;
}

void store_le32(std::string& s, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string span_text(uint32_t first, uint32_t count) {
    return std::to_string(first) + ".." + std::to_string(static_cast<uint64_t>(first) + count - 1);
}

} // namespace

void check_range(const ShiftRange& r, const std::string& root) {
    auto refuse = [&](const std::string& why) {
        throw Error(400, "cannot shift " + root + " with uid base " + std::to_string(r.uid_base) + ", gid base " +
                             std::to_string(r.gid_base) + ", size " + std::to_string(r.size) + ": " + why);
    };
    if (r.size == 0) refuse("the range is empty");
    for (uint32_t base : {r.uid_base, r.gid_base}) {
        if (base < r.size)
            refuse("host ids " + span_text(base, r.size) + " overlap the container's ids " + span_text(0, r.size) +
                   "; choose a host range at or above " + std::to_string(r.size));
        // 4294967295 is (uid_t)-1, "no id", never a real owner.
        if (static_cast<uint64_t>(base) + r.size > 0xFFFFFFFFull) refuse("the host range runs past id 4294967294");
    }
}

bool same_range(const ShiftRange& a, const ShiftRange& b) {
    return a.uid_base == b.uid_base && a.gid_base == b.gid_base && a.size == b.size;
}

std::optional<uint32_t> IdMapper::map(uint32_t id, uint32_t base) const {
    bool in_container = id < range.size;
    bool in_host = id >= base && id - base < range.size;
    if (to_host) {
        if (in_container) return id + base;
        if (resuming && in_host) return id;
    } else {
        if (in_host) return id - base;
        if (resuming && in_container) return id;
    }
    return std::nullopt;
}

std::string refused_id(std::string_view kind, uint32_t id, uint32_t base, const IdMapper& m,
                       const std::string& what) {
    std::string container = span_text(0, m.range.size);
    std::string host = span_text(base, m.range.size);
    std::string expected = m.resuming ? container + " or " + host : m.to_host ? container : host;
    return std::string(kind) + " " + std::to_string(id) + " of " + what + " is outside " + expected +
           "; change it to an id in that range and run again";
}

std::string shift_acl_xattr(std::string_view value, const IdMapper& m, const std::string& what) {
    if (value.size() < acl_header_size || (value.size() - acl_header_size) % acl_entry_size != 0 ||
        load_le(value, 0, 4) != acl_version)
        throw Error("the POSIX ACL of " + what + " is not in the version 2 layout; its ids cannot be shifted");
    std::string out(value);
    for (size_t at = acl_header_size; at < value.size(); at += acl_entry_size) {
        uint32_t tag = load_le(value, at, 2);
        if (tag != acl_tag_user && tag != acl_tag_group) continue; // the others carry no id
        bool user = tag == acl_tag_user;
        uint32_t base = user ? m.range.uid_base : m.range.gid_base;
        uint32_t id = load_le(value, at + 4, 4);
        auto moved = m.map(id, base);
        if (!moved) throw Error(refused_id(user ? "ACL uid" : "ACL gid", id, base, m, what));
        store_le32(out, at + 4, *moved);
    }
    return out;
}

std::string shift_cap_xattr(std::string_view value, const IdMapper& m, const std::string& what) {
    uint32_t magic = value.size() >= 4 ? load_le(value, 0, 4) : 0;
    uint32_t revision = magic & cap_revision_mask;
    uint32_t rootid = 0;
    if (value.size() == cap_v3_size && revision == cap_revision_3)
        rootid = load_le(value, cap_rootid_at, 4);
    else if (value.size() != cap_v2_size || revision != cap_revision_2)
        throw Error("the file capability of " + what + " is neither v2 nor v3; its root id cannot be shifted");
    auto moved = m.uid(rootid);
    if (!moved) throw Error(refused_id("capability root uid", rootid, m.range.uid_base, m, what));

    std::string out(value.substr(0, cap_v2_size));
    uint32_t flags = magic & ~cap_revision_mask;
    if (*moved == 0) {
        store_le32(out, 0, cap_revision_2 | flags);
        return out;
    }
    out.resize(cap_v3_size);
    store_le32(out, 0, cap_revision_3 | flags);
    store_le32(out, cap_rootid_at, *moved);
    return out;
}

std::string format_record(const ShiftRecord& rec) {
    return std::string(rec.pending ? "pending:" : "") + std::to_string(rec.range.uid_base) + ":" +
           std::to_string(rec.range.gid_base) + ":" + std::to_string(rec.range.size);
}

std::optional<ShiftRecord> parse_record(std::string_view text) {
    ShiftRecord rec{{0, 0, 0}, false};
    constexpr std::string_view pending = "pending:";
    if (text.starts_with(pending)) {
        rec.pending = true;
        text.remove_prefix(pending.size());
    }
    if (text.ends_with('\n')) text.remove_suffix(1); // a record file edited by hand
    uint32_t* fields[] = {&rec.range.uid_base, &rec.range.gid_base, &rec.range.size};
    for (size_t i = 0; i < 3; ++i) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *fields[i]);
        if (ec != std::errc() || end == text.data()) return std::nullopt;
        text.remove_prefix(static_cast<size_t>(end - text.data()));
        if (i == 2) break;
        if (!text.starts_with(':')) return std::nullopt;
        text.remove_prefix(1);
    }
    if (!text.empty()) return std::nullopt;
    return rec;
}

std::string record_file_path(const std::string& root) {
    std::string p = root;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : p.substr(0, slash);
    std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
        throw Error(400, "cannot keep a shift record next to '" + root + "': name the root directory by its own name");
    return parent + "/.lodge-shifted." + base;
}

} // namespace detail

namespace {

using detail::IdMapper;
using detail::ShiftRecord;

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

// Checks (apply == false) or moves (apply == true) the ids of one inode:
// owner, ACL entries, capability root id. Everything is read and checked
// before anything is written, so a refused id leaves the inode as it was.
void shift_inode(int fd, const struct statx& st, const std::string& path, const IdMapper& m, bool apply) {
    auto uid = m.uid(st.stx_uid);
    if (!uid) throw Error(detail::refused_id("uid", st.stx_uid, m.range.uid_base, m, path));
    auto gid = m.gid(st.stx_gid);
    if (!gid) throw Error(detail::refused_id("gid", st.stx_gid, m.range.gid_base, m, path));
    bool chown_needed = *uid != st.stx_uid || *gid != st.stx_gid;
    auto chown = [&] {
        if (::fchownat(fd, "", *uid, *gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) throw_errno("chown " + path);
    };

    if (S_ISLNK(st.stx_mode)) { // no ACLs or capabilities on symlinks
        if (apply && chown_needed) chown();
        return;
    }
    FdPath at(fd);
    auto cap = get_xattr(at, "security.capability", path);
    auto access = get_xattr(at, "system.posix_acl_access", path);
    std::optional<std::string> dflt;
    if (S_ISDIR(st.stx_mode)) dflt = get_xattr(at, "system.posix_acl_default", path);
    std::string new_cap = cap ? detail::shift_cap_xattr(*cap, m, path) : "";
    std::string new_access = access ? detail::shift_acl_xattr(*access, m, path) : "";
    std::string new_dflt = dflt ? detail::shift_acl_xattr(*dflt, m, path) : "";
    if (!apply) return;

    if (chown_needed) {
        chown();
        // chown dropped setuid/setgid (from non-directories) and the file
        // capability; both come back below.
        if (st.stx_mode & (S_ISUID | S_ISGID))
            if (::chmod(at.c_str(), st.stx_mode & 07777) < 0) throw_errno("chmod " + path);
    }
    if (access && new_access != *access) set_xattr(at, "system.posix_acl_access", new_access, path);
    if (dflt && new_dflt != *dflt) set_xattr(at, "system.posix_acl_default", new_dflt, path);
    if (cap && (chown_needed || new_cap != *cap)) set_xattr(at, "security.capability", new_cap, path);
}

// ---- the walk ----

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

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
        std::unique_ptr<DIR, DirCloser> dir(::fdopendir(list_fd));
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

void shift_pass(int root_fd, const std::string& root, const IdMapper& m, bool apply) {
    TreeWalk walk(root, [&](int fd, const struct statx& st, const std::string& path) {
        shift_inode(fd, st, path, m, apply);
    });
    walk.run(root_fd);
}

// ---- the record ----

constexpr const char* record_xattr = "trusted.lodge.shift";

std::string range_text(const ShiftRange& r) {
    return "uid base " + std::to_string(r.uid_base) + ", gid base " + std::to_string(r.gid_base) + ", size " +
           std::to_string(r.size);
}

std::string parent_of(const std::string& file) {
    auto slash = file.find_last_of('/');
    return slash == 0 ? "/" : file.substr(0, slash);
}

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
        shift_pass(root_fd, root, m.reversed(), true);
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

    IdMapper check_map{range, to_host, rec && rec->pending};
    // A first read-only pass: an id that cannot move is found before
    // anything changed.
    shift_pass(root_fd.get(), root, check_map, false);

    write_record(root_fd.get(), root, {range, true});
    IdMapper move_map{range, to_host, true}; // pending from here on
    try {
        shift_pass(root_fd.get(), root, move_map, true);
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
