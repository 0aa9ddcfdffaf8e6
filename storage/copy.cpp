// The dir driver's tree copy. One thread walks the source and creates every
// entry (so hardlinks and directory metadata see a complete tree); regular
// files' data and metadata go to a small pool of threads. Every source entry
// is reached relative to its open parent with O_NOFOLLOW, and a file is
// checked to be what was listed before its bytes are read.
#include "storage/copy.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "storage/tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace lodge::storage {

namespace {

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr size_t max_queued_files = 64; // two fds each
constexpr off_t handoff_size = 64 << 10;

using Xattrs = std::vector<std::pair<std::string, std::string>>;

std::string proc_path(int dir_fd, const std::string& name) {
    return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

// Reads all xattrs with list/get functions of either the fd or the path
// family; an fs without xattrs has none.
template <typename List, typename Get>
Xattrs read_xattrs(List list, Get get, const std::string& where) {
    Xattrs out;
    // Most files have few or no xattrs: one call with a buffer that fits them.
    std::string names(1024, '\0');
    for (bool first = true;; first = false) {
        ssize_t n = 0;
        if (!first) {
            n = list(nullptr, 0);
            if (n < 0 && (errno == ENOTSUP || errno == ENODATA)) return out;
            if (n < 0) throw_errno("listing xattrs of " + where);
            names.resize(static_cast<size_t>(n));
        }
        n = list(names.data(), names.size());
        if (n < 0 && (errno == ENOTSUP || errno == ENODATA)) return out;
        if (n >= 0) {
            names.resize(static_cast<size_t>(n));
            break;
        }
        if (errno != ERANGE) throw_errno("listing xattrs of " + where);
    }
    for (size_t pos = 0; pos < names.size();) {
        std::string name = names.c_str() + pos;
        pos += name.size() + 1;
        if (name.empty()) continue;
        std::string value(256, '\0');
        for (bool first = true;; first = false) {
            ssize_t n = 0;
            if (!first) {
                n = get(name.c_str(), nullptr, 0);
                if (n < 0 && errno == ENODATA) break; // removed meanwhile
                if (n < 0) throw_errno("reading xattr " + name + " of " + where);
                value.resize(static_cast<size_t>(n));
            }
            n = get(name.c_str(), value.data(), value.size());
            if (n < 0 && errno == ENODATA) break;
            if (n >= 0) {
                value.resize(static_cast<size_t>(n));
                out.emplace_back(name, std::move(value));
                break;
            }
            if (errno != ERANGE) throw_errno("reading xattr " + name + " of " + where);
        }
    }
    return out;
}

Xattrs fd_xattrs(int fd, const std::string& where) {
    return read_xattrs([fd](char* b, size_t s) { return ::flistxattr(fd, b, s); },
                       [fd](const char* n, void* b, size_t s) { return ::fgetxattr(fd, n, b, s); }, where);
}

Xattrs link_xattrs(const std::string& path, const std::string& where) {
    return read_xattrs([&](char* b, size_t s) { return ::llistxattr(path.c_str(), b, s); },
                       [&](const char* n, void* b, size_t s) { return ::lgetxattr(path.c_str(), n, b, s); },
                       where);
}

// Ownership first (chown clears setuid/setgid and file capabilities), then
// xattrs (ACLs, capabilities), then the mode, then times.
void apply_fd_metadata(int fd, const struct stat& st, const Xattrs& xattrs, const std::string& where) {
    if (::fchown(fd, st.st_uid, st.st_gid) < 0) throw_errno("setting the owner of " + where);
    for (const auto& [name, value] : xattrs)
        if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) < 0)
            throw_errno("setting xattr " + name + " on " + where);
    if (::fchmod(fd, st.st_mode & 07777) < 0) throw_errno("setting the mode of " + where);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) < 0) throw_errno("setting the times of " + where);
}

// The same for symlinks and special files, which are not opened: by name in
// their (lodge-made) parent directory.
void apply_name_metadata(int dir_fd, const std::string& name, const struct stat& st, const Xattrs& xattrs,
                         const std::string& where) {
    if (::fchownat(dir_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("setting the owner of " + where);
    const std::string path = proc_path(dir_fd, name);
    for (const auto& [xname, value] : xattrs)
        if (::lsetxattr(path.c_str(), xname.c_str(), value.data(), value.size(), 0) < 0)
            throw_errno("setting xattr " + xname + " on " + where);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dir_fd, name.c_str(), st.st_mode & 07777, 0) < 0)
        throw_errno("setting the mode of " + where);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        throw_errno("setting the times of " + where);
}

// A directory's entries in inode order, which reads its files in roughly
// on-disk order.
std::vector<DirEntry> list_dir(int dir_fd, const std::string& where) {
    auto out = read_dir(dir_fd, where);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ino < b.ino; });
    return out;
}

struct FileJob {
    UniqueFd src;
    UniqueFd dst;
    struct stat st {};
    std::string where;
};

class Copier {
public:
    Copier(const std::string& source, unsigned threads) : source_(source) {
        for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    }
    ~Copier() { stop(); }
    Copier(const Copier&) = delete;
    Copier& operator=(const Copier&) = delete;

    void copy(int src_root, int dst_root) {
        dst_root_ = dst_root;
        struct stat st {};
        if (::fstat(src_root, &st) < 0) throw_errno("looking at " + source_);
        try {
            copy_dir(src_root, dst_root, st, source_);
        } catch (...) {
            failed_ = true;
            stop();
            if (error_) std::rethrow_exception(error_); // the worker's error came first
            throw;
        }
        stop();
        if (error_) std::rethrow_exception(error_);
    }

private:
    void copy_dir(int src, int dst, const struct stat& st, const std::string& where) {
        for (const auto& [name, type, ino] : list_dir(src, where)) {
            if (failed_) throw Error("copy stopped"); // a worker failed; copy() reports its error
            copy_entry(src, dst, name, where + "/" + name);
        }
        // Directory metadata last: a default ACL set earlier would be
        // inherited by the entries made inside, and their making changes mtime.
        apply_fd_metadata(dst, st, fd_xattrs(src, where), where);
    }

    void copy_entry(int src_dir, int dst_dir, const std::string& name, const std::string& where) {
        struct stat st {};
        if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) return; // deleted since listed
            throw_errno("looking at " + where);
        }
        const std::string rel = where.substr(source_.size() + 1);
        if (S_ISDIR(st.st_mode)) {
            UniqueFd s = open_checked(src_dir, name, dir_flags, st, where);
            if (::mkdirat(dst_dir, name.c_str(), 0700) < 0) throw_errno("creating the copy of " + where);
            UniqueFd d(::openat(dst_dir, name.c_str(), dir_flags));
            if (!d) throw_errno("opening the copy of " + where);
            copy_dir(s.get(), d.get(), st, where);
            return;
        }
        if (st.st_nlink > 1) {
            auto [it, fresh] = links_.try_emplace({st.st_dev, st.st_ino}, rel);
            if (!fresh) {
                if (::linkat(dst_root_, it->second.c_str(), dst_dir, name.c_str(), 0) < 0)
                    throw_errno("linking the copy of " + where);
                return;
            }
        }
        if (S_ISREG(st.st_mode)) {
            FileJob job;
            job.src = open_checked(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, st,
                                   where);
            job.dst.reset(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!job.dst) throw_errno("creating the copy of " + where);
            job.st = st;
            job.where = where;
            submit(std::move(job));
            return;
        }
        const std::string src_path = proc_path(src_dir, name);
        if (S_ISLNK(st.st_mode)) {
            std::string target(std::max<size_t>(static_cast<size_t>(st.st_size) + 1, 4097), '\0');
            ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
            if (n < 0) throw_errno("reading the link " + where);
            if (static_cast<size_t>(n) >= target.size()) throw Error("link " + where + " changed during the copy");
            target.resize(static_cast<size_t>(n));
            if (::symlinkat(target.c_str(), dst_dir, name.c_str()) < 0) throw_errno("creating the copy of " + where);
        } else {
            if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
                throw_errno("creating the copy of " + where);
        }
        apply_name_metadata(dst_dir, name, st, link_xattrs(src_path, where), where);
    }

    // Opens a listed entry and checks it is still the one that was stat'ed
    // (a guest may swap entries while we copy).
    static UniqueFd open_checked(int dir_fd, const std::string& name, int flags, const struct stat& st,
                                 const std::string& where) {
        UniqueFd fd(::openat(dir_fd, name.c_str(), flags | O_NOATIME));
        if (!fd && errno == EPERM) fd.reset(::openat(dir_fd, name.c_str(), flags));
        if (!fd) throw_errno("opening " + where);
        struct stat now {};
        if (::fstat(fd.get(), &now) < 0) throw_errno("looking at " + where);
        if (now.st_ino != st.st_ino || now.st_dev != st.st_dev || (now.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
            throw Error(409, where + " changed during the copy");
        return fd;
    }

    void submit(FileJob job) {
        // Small files cost less to copy than to hand over to another thread.
        if (!workers_.empty() && job.st.st_size >= handoff_size) {
            std::unique_lock lock(mutex_);
            if (queue_.size() < max_queued_files) {
                queue_.push_back(std::move(job));
                wake_.notify_one();
                return;
            }
        }
        // Small, queue full, or no workers: the walker copies this one itself.
        copy_file(job);
    }

    void work() {
        for (;;) {
            FileJob job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return done_ || !queue_.empty(); });
                if (queue_.empty()) return;
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            if (failed_) continue;
            try {
                copy_file(job);
            } catch (...) {
                std::lock_guard lock(mutex_);
                if (!failed_.exchange(true)) error_ = std::current_exception();
            }
        }
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
        workers_.clear();
    }

    void copy_file(FileJob& job) {
        copy_data(job);
        apply_fd_metadata(job.dst.get(), job.st, fd_xattrs(job.src.get(), job.where), job.where);
    }

    void copy_data(FileJob& job) {
        const int in = job.src.get(), out = job.dst.get();
        const off_t size = job.st.st_size;
        if (size == 0) return;
        if (can_clone_) {
            if (::ioctl(out, FICLONE, in) == 0) return;
            if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == ENOSYS) can_clone_ = false;
        }
        // Only a file with fewer blocks than bytes can have holes worth keeping.
        if (static_cast<off_t>(job.st.st_blocks) * 512 >= size) {
            copy_range(job, 0, size);
        } else {
            for (off_t pos = 0; pos < size;) {
                off_t data = ::lseek(in, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO) break; // a hole to the end
                if (data < 0) throw_errno("looking for data in " + job.where);
                off_t hole = ::lseek(in, data, SEEK_HOLE);
                if (hole < 0) throw_errno("looking for holes in " + job.where);
                copy_range(job, data, std::min(hole, size) - data);
                pos = hole;
            }
            // A trailing hole is made by the size alone.
            if (::ftruncate(out, size) < 0) throw_errno("sizing the copy of " + job.where);
        }
    }

    void copy_range(FileJob& job, off_t offset, off_t length) {
        loff_t in_off = offset, out_off = offset;
        while (length > 0) {
            if (can_copy_range_) {
                ssize_t n = ::copy_file_range(job.src.get(), &in_off, job.dst.get(), &out_off,
                                              static_cast<size_t>(length), 0);
                if (n > 0) {
                    length -= n;
                    continue;
                }
                if (n == 0) return; // the file shrank while we copied
                if (errno != EXDEV && errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
                    throw_errno("copying " + job.where);
                can_copy_range_ = false;
            }
            thread_local std::vector<char> buffer(1 << 20);
            ssize_t n = ::pread(job.src.get(), buffer.data(), std::min<off_t>(length, buffer.size()), in_off);
            if (n < 0) throw_errno("reading " + job.where);
            if (n == 0) return;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = ::pwrite(job.dst.get(), buffer.data() + done, static_cast<size_t>(n - done), out_off);
                if (w < 0) throw_errno("writing the copy of " + job.where);
                done += w;
                out_off += w;
            }
            in_off += n;
            length -= n;
        }
    }

    std::string source_;
    int dst_root_ = -1;
    std::map<std::pair<dev_t, ino_t>, std::string> links_; // first copy of each hardlinked inode
    std::atomic<bool> can_clone_{true};
    std::atomic<bool> can_copy_range_{true};

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<FileJob> queue_;
    bool done_ = false;
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;
    std::vector<std::thread> workers_;
};

} // namespace

void copy_tree_into(const std::string& source, int target_fd, const CopyOptions& options) {
    UniqueFd src(::open(source.c_str(), dir_flags));
    if (!src) throw_errno("opening " + source);
    try {
        Copier copier(source, options.data_threads);
        copier.copy(src.get(), target_fd);
    } catch (...) {
        try {
            remove_tree_contents(target_fd);
        } catch (const Error&) { // NOLINT: the copy's own error is the one to report
        }
        throw;
    }
}

void copy_tree(const std::string& source, const std::string& target, const CopyOptions& options) {
    if (::mkdir(target.c_str(), 0700) < 0) {
        if (errno == EEXIST) throw Error(409, target + " already exists");
        throw_errno("creating " + target);
    }
    try {
        UniqueFd dst(::open(target.c_str(), dir_flags));
        if (!dst) throw_errno("opening " + target);
        copy_tree_into(source, dst.get(), options);
    } catch (...) {
        try {
            remove_tree(target);
        } catch (const Error&) { // NOLINT: the copy's own error is the one to report
        }
        throw;
    }
}

} // namespace lodge::storage
