// Root-confined reads and atomic rewrites of guest files for the fixups.
#include "images/vm/fixups/guest_files.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace lodge::vm::detail {

namespace {

// Errors that mean "nothing usable there" for an untrusted tree (a link
// loop, a name longer than PATH_MAX in a `source` line).
bool is_missing(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG; }

UniqueFd open_parent(int root, const std::string& path, bool create) {
    auto [dir, name] = split_path(path);
    if (name.empty() || name == "." || name == "..") throw Error(400, "not a file path: " + path);
    int fd = try_open_in_root(root, dir, O_PATH | O_DIRECTORY);
    if (fd >= 0) return UniqueFd(fd);
    if (create && fd == -ENOENT) return make_dir_in_root(root, dir);
    throw SystemError("open " + dir + " inside the guest root", -fd);
}

std::string temp_name(const std::string& name) {
    static std::atomic<unsigned> counter{0};
    return "." + name + ".lodge-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

void write_all(int fd, const std::string& data, const std::string& what) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write " + what);
        }
        done += static_cast<size_t>(n);
    }
}

// Writes a temp file beside `name` in dir and renames it over name.
void write_and_rename(int dir, const std::string& name, const std::string& path, const std::string& content,
                      unsigned mode, uid_t uid, gid_t gid) {
    std::string tmp = temp_name(name);
    UniqueFd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw_errno("create a temporary file beside " + path);
    try {
        write_all(fd.get(), content, path);
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) throw_errno("stat " + path);
        // chown first: it clears set-id bits that fchmod then restores.
        if ((st.st_uid != uid || st.st_gid != gid) && ::fchown(fd.get(), uid, gid) < 0) throw_errno("chown " + path);
        if (::fchmod(fd.get(), mode & 07777) < 0) throw_errno("chmod " + path);
        if (::renameat(dir, tmp.c_str(), dir, name.c_str()) < 0) throw_errno("rename over " + path);
    } catch (...) {
        ::unlinkat(dir, tmp.c_str(), 0);
        throw;
    }
}

} // namespace

std::pair<std::string, std::string> split_path(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::optional<std::string> Guest::read(const std::string& fixup, const std::string& path) {
    int pfd = try_open_in_root(root_, path, O_PATH);
    if (pfd < 0) {
        if (is_missing(-pfd)) return std::nullopt;
        throw SystemError("open " + path + " inside the guest root", -pfd);
    }
    UniqueFd path_fd(pfd);
    struct stat st;
    if (::fstat(path_fd.get(), &st) < 0) throw_errno("stat " + path);
    // Only regular files are opened for reading: opening a FIFO would block
    // and opening a device node of the guest could have side effects.
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    if (static_cast<std::size_t>(st.st_size) > max_config_size) {
        record(fixup, path, "not changed: larger than 1 MiB, not a configuration file lodge reads");
        return std::nullopt;
    }
    UniqueFd fd(::open(fd_path(path_fd.get()).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) throw_errno("open " + path);
    auto content = read_at_most(fd.get(), max_config_size, path);
    if (!content) record(fixup, path, "not changed: larger than 1 MiB, not a configuration file lodge reads");
    return content;
}

std::optional<struct stat> Guest::stat(const std::string& path, bool follow) {
    struct stat st;
    if (follow) {
        int fd = try_open_in_root(root_, path, O_PATH);
        if (fd < 0) {
            if (is_missing(-fd)) return std::nullopt;
            throw SystemError("open " + path + " inside the guest root", -fd);
        }
        UniqueFd owned(fd);
        if (::fstat(fd, &st) < 0) throw_errno("stat " + path);
        return st;
    }
    auto [dir, name] = split_path(path);
    int dfd = try_open_in_root(root_, dir, O_PATH | O_DIRECTORY);
    if (dfd < 0) {
        if (is_missing(-dfd)) return std::nullopt;
        throw SystemError("open " + dir + " inside the guest root", -dfd);
    }
    UniqueFd owned(dfd);
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (is_missing(errno)) return std::nullopt;
        throw_errno("stat " + path);
    }
    return st;
}

std::string Guest::link_target(const std::string& path) {
    auto [dir, name] = split_path(path);
    int dfd = try_open_in_root(root_, dir, O_PATH | O_DIRECTORY);
    if (dfd < 0) return "";
    UniqueFd owned(dfd);
    char buf[4096];
    ssize_t n = ::readlinkat(dfd, name.c_str(), buf, sizeof buf);
    if (n < 0) return "";
    return std::string(buf, static_cast<size_t>(n));
}

void Guest::replace(const std::string& path, const std::string& content) {
    if (dry_run()) return;
    auto target = stat(path, true);
    if (!target) throw Error(404, "replace " + path + ": it no longer exists in the guest root");
    UniqueFd dir = open_parent(root_, path, false);
    std::string name = split_path(path).second;
    struct stat own;
    if (::fstatat(dir.get(), name.c_str(), &own, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat " + path);
    if (S_ISDIR(own.st_mode)) throw Error(409, "replace " + path + ": it is a directory in the guest root");
    write_and_rename(dir.get(), name, path, content, target->st_mode, target->st_uid, target->st_gid);
}

void Guest::create(const std::string& path, const std::string& content, unsigned mode) {
    if (dry_run()) return;
    UniqueFd dir = open_parent(root_, path, true);
    std::string name = split_path(path).second;
    struct stat own;
    if (::fstatat(dir.get(), name.c_str(), &own, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(own.st_mode))
        throw Error(409, "create " + path + ": a directory is in the way in the guest root");
    write_and_rename(dir.get(), name, path, content, mode, ::geteuid(), ::getegid());
}

void Guest::symlink(const std::string& path, const std::string& target) {
    if (dry_run()) return;
    UniqueFd dir = open_parent(root_, path, true);
    std::string name = split_path(path).second;
    struct stat own;
    if (::fstatat(dir.get(), name.c_str(), &own, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(own.st_mode))
        throw Error(409, "link " + path + ": a directory is in the way in the guest root");
    std::string tmp = temp_name(name);
    if (::symlinkat(target.c_str(), dir.get(), tmp.c_str()) < 0) throw_errno("symlink " + path);
    if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) < 0) {
        int err = errno;
        ::unlinkat(dir.get(), tmp.c_str(), 0);
        throw SystemError("rename over " + path, err);
    }
}

void Guest::remove(const std::string& path) {
    if (dry_run()) return;
    UniqueFd dir = open_parent(root_, path, false);
    std::string name = split_path(path).second;
    if (::unlinkat(dir.get(), name.c_str(), 0) < 0 && errno != ENOENT) throw_errno("remove " + path);
}

std::vector<std::string> Guest::list(const std::string& path) {
    int fd = try_open_in_root(root_, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        if (is_missing(-fd)) return {};
        throw SystemError("open " + path + " inside the guest root", -fd);
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        throw_errno("read directory " + path);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
        // A hostile directory with millions of entries would only slow us.
        if (names.size() > 100000) break;
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace lodge::vm::detail
