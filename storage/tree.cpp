// Removing and measuring volume trees relative to open directories, so a
// symlink or a directory swapped for one by a running guest leads nowhere.
#include "storage/tree.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <utility>
#include <vector>

namespace lodge::storage {

namespace {

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

} // namespace

std::vector<DirEntry> read_dir(int dir_fd, const std::string& where) {
    int fd = ::openat(dir_fd, ".", dir_flags);
    if (fd < 0) throw_errno("opening " + where);
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        int err = errno;
        ::close(fd);
        throw SystemError("reading " + where, err);
    }
    std::vector<DirEntry> out;
    errno = 0;
    while (dirent* d = ::readdir(dir)) {
        std::string name = d->d_name;
        if (name != "." && name != "..") out.push_back({std::move(name), d->d_type, d->d_ino});
        errno = 0;
    }
    int err = errno;
    ::closedir(dir);
    if (err) throw SystemError("reading " + where, err);
    return out;
}

namespace {

void remove_below(int dir_fd, const std::string& where) {
    for (const auto& e : read_dir(dir_fd, where)) {
        const std::string path = where + "/" + e.name;
        if (e.type != DT_DIR && e.type != DT_UNKNOWN) {
            if (::unlinkat(dir_fd, e.name.c_str(), 0) == 0 || errno == ENOENT) continue;
            if (errno != EISDIR) throw_errno("removing " + path);
        }
        UniqueFd child(::openat(dir_fd, e.name.c_str(), dir_flags));
        if (!child) {
            if (errno == ENOENT) continue;
            // Not a directory (any more): a plain entry, unlinked below.
            if (errno != ENOTDIR && errno != ELOOP) throw_errno("opening " + path);
            if (::unlinkat(dir_fd, e.name.c_str(), 0) == 0 || errno == ENOENT) continue;
            throw_errno("removing " + path);
        }
        remove_below(child.get(), path);
        child.reset();
        if (::unlinkat(dir_fd, e.name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
            throw_errno("removing " + path);
    }
}

void add_usage(int dir_fd, const std::string& where, std::set<std::pair<dev_t, ino_t>>& seen,
               std::uint64_t& total) {
    for (const auto& e : read_dir(dir_fd, where)) {
        struct stat st {};
        if (::fstatat(dir_fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) continue;
            throw_errno("looking at " + where + "/" + e.name);
        }
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
        total += static_cast<std::uint64_t>(st.st_blocks) * 512;
        if (!S_ISDIR(st.st_mode)) continue;
        UniqueFd child(::openat(dir_fd, e.name.c_str(), dir_flags));
        if (!child) {
            if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
            throw_errno("opening " + where + "/" + e.name);
        }
        add_usage(child.get(), where + "/" + e.name, seen, total);
    }
}

} // namespace

void remove_tree_contents(int dir_fd) { remove_below(dir_fd, "."); }

void remove_tree(const std::string& path) {
    UniqueFd dir(::open(path.c_str(), dir_flags));
    if (!dir) {
        if (errno == ENOENT) return;
        if (errno != ENOTDIR && errno != ELOOP) throw_errno("opening " + path);
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("removing " + path);
        return;
    }
    remove_below(dir.get(), path);
    dir.reset();
    if (::rmdir(path.c_str()) < 0 && errno != ENOENT) throw_errno("removing " + path);
}

std::uint64_t tree_usage(const std::string& path) {
    UniqueFd dir(::open(path.c_str(), dir_flags));
    if (!dir) throw_errno("opening " + path);
    struct stat st {};
    if (::fstat(dir.get(), &st) < 0) throw_errno("looking at " + path);
    std::uint64_t total = static_cast<std::uint64_t>(st.st_blocks) * 512;
    std::set<std::pair<dev_t, ino_t>> seen;
    add_usage(dir.get(), path, seen, total);
    return total;
}

} // namespace lodge::storage
