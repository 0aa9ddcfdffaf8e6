// The btrfs driver: volumes are subvolumes, snapshots are read-only
// snapshots, copies are writable snapshots (O(1)), quotas are qgroup limits.
// A pool is either a loop file lodge makes (<disks_dir>/<name>.img, mounted
// at <pools_dir>/<name>) or a directory on an existing btrfs ("source"),
// which then is the pool itself, with <pools_dir>/<name> a symlink to it as
// in the dir driver.
#include "storage/btrfs_qgroup.hpp"
#include "storage/copy.hpp"
#include "storage/drivers.hpp"
#include "storage/layout.hpp"
#include "storage/tree_driver.hpp"
#include "storage/loop.hpp"
#include "storage/program.hpp"
#include "storage/size.hpp"
#include "storage/tree.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"

#include <btrfsutil.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace lodge::storage {

namespace {

constexpr std::uint64_t default_size = 5ULL << 30;
constexpr std::uint64_t min_size = 256ULL << 20; // mkfs.btrfs refuses much less
constexpr const char* default_mount_options = "user_subvol_rm_allowed";

void check_util(btrfs_util_error err, const std::string& what) {
    if (err == BTRFS_UTIL_OK) return;
    const int saved = errno;
    std::string message = what + ": " + btrfs_util_strerror(err);
    if (saved) message += std::string(": ") + std::strerror(saved);
    throw Error(500, message);
}

bool on_btrfs(const std::string& path) {
    struct statfs sf {};
    return ::statfs(path.c_str(), &sf) == 0 && sf.f_type == BTRFS_SUPER_MAGIC;
}

bool is_subvolume(const std::string& path) { return btrfs_util_is_subvolume(path.c_str()) == BTRFS_UTIL_OK; }

UniqueFd open_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("opening " + path);
    return fd;
}

// Subvolumes below `path` (paths relative to it), deepest first.
std::vector<std::string> nested_subvolumes(const std::string& path) {
    btrfs_util_subvolume_iterator* it = nullptr;
    check_util(btrfs_util_create_subvolume_iterator(path.c_str(), 0, BTRFS_UTIL_SUBVOLUME_ITERATOR_POST_ORDER, &it),
               "listing subvolumes in " + path);
    std::vector<std::string> out;
    for (;;) {
        char* sub = nullptr;
        auto err = btrfs_util_subvolume_iterator_next(it, &sub, nullptr);
        if (err == BTRFS_UTIL_ERROR_STOP_ITERATION) break;
        if (err != BTRFS_UTIL_OK) {
            btrfs_util_destroy_subvolume_iterator(it);
            check_util(err, "listing subvolumes in " + path);
        }
        out.emplace_back(sub);
        std::free(sub);
    }
    btrfs_util_destroy_subvolume_iterator(it);
    return out;
}

void set_read_only_tree(const std::string& path, bool read_only) {
    // Writable from the top down (a read-only parent pins its children's
    // names), read-only from the bottom up.
    if (!read_only) check_util(btrfs_util_set_subvolume_read_only(path.c_str(), false), "making " + path + " writable");
    for (const auto& sub : nested_subvolumes(path))
        check_util(btrfs_util_set_subvolume_read_only((path + "/" + sub).c_str(), read_only),
                   "changing read-only on " + path + "/" + sub);
    if (read_only) check_util(btrfs_util_set_subvolume_read_only(path.c_str(), true), "making " + path + " read-only");
}

// Removes a volume whatever it holds: nested subvolumes a guest made,
// read-only snapshots, or a plain directory (a half copy).
void delete_tree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0 && errno == ENOENT) return;
    if (!is_subvolume(path)) {
        // A directory of snapshots, or a half copy: subvolumes in it first
        // (read-only ones cannot be emptied file by file).
        std::error_code ec;
        if (S_ISDIR(st.st_mode))
            for (const auto& entry : fs::directory_iterator(path, ec))
                if (!entry.is_symlink(ec) && entry.is_directory(ec) && is_subvolume(entry.path())) delete_tree(entry.path());
        return remove_tree(path);
    }
    set_read_only_tree(path, false);
    check_util(btrfs_util_delete_subvolume(path.c_str(), BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE), "deleting " + path);
}

class BtrfsDriver final : public TreeDriver {
public:
    BtrfsDriver(PoolSpec spec, std::string mount_point, std::string image, std::string link)
        : TreeDriver(std::move(spec), std::move(mount_point)), image_(std::move(image)), link_(std::move(link)) {}

    void create() override {
        if (image_.empty()) return create_on_directory();
        Reverter revert;
        auto it = spec_.config.find("size");
        const std::uint64_t size = it == spec_.config.end() || it->second.empty() ? default_size : parse_size(it->second);
        if (size < min_size)
            throw Error(400, "storage pool '" + spec_.name + "': size " + format_size(size) + " is too small for btrfs (at least " +
                                 format_size(min_size) + ")");
        make_dirs(parent_dir(image_), 0711);
        {
            UniqueFd file(::open(image_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!file && errno == EEXIST) throw Error(409, "storage pool '" + spec_.name + "': " + image_ + " already exists");
            if (!file) throw_errno("creating " + image_);
            revert.add([this] { ::unlink(image_.c_str()); });
            if (::ftruncate(file.get(), static_cast<off_t>(size)) < 0) throw_errno("sizing " + image_);
        }
        run_program({"mkfs.btrfs", "-q", "-L", spec_.name, image_});
        make_dirs(parent_dir(mount_point_), 0711);
        if (::mkdir(mount_point_.c_str(), 0711) == 0)
            revert.add([this] { ::rmdir(mount_point_.c_str()); });
        else if (errno != EEXIST || is_mount_point(mount_point_))
            throw Error(409, "storage pool '" + spec_.name + "': " + mount_point_ + " is in use");
        mount_image(image_, mount_point_, "btrfs", mount_options());
        revert.add([this] { ::umount2(mount_point_.c_str(), MNT_DETACH); });
        make_layout(mount_point_);
        spec_.config["source"] = image_;
        spec_.config["size"] = format_size(size);
        revert.success();
    }

    void mount() override {
        if (image_.empty()) {
            if (!on_btrfs(mount_point_))
                throw Error(404, "storage pool '" + spec_.name + "': " + mount_point_ + " is missing or not on btrfs");
            return;
        }
        if (is_mount_point(mount_point_)) return;
        struct stat st {};
        if (::stat(image_.c_str(), &st) < 0)
            throw Error(404, "storage pool '" + spec_.name + "': its disk " + image_ + " is missing");
        make_dirs(mount_point_, 0711);
        mount_image(image_, mount_point_, "btrfs", mount_options());
    }

    void unmount() override {
        if (image_.empty() || !is_mount_point(mount_point_)) return;
        if (::umount2(mount_point_.c_str(), MNT_DETACH) < 0) throw_errno("unmounting " + mount_point_);
    }

    void destroy() override {
        if (image_.empty()) {
            for (const auto& dir : layout_dirs()) delete_tree(mount_point_ + "/" + dir);
            std::error_code ec;
            if (fs::is_symlink(link_, ec) && fs::read_symlink(link_, ec) == mount_point_) ::unlink(link_.c_str());
            return;
        }
        unmount();
        if (::unlink(image_.c_str()) < 0 && errno != ENOENT) throw_errno("removing " + image_);
        ::rmdir(mount_point_.c_str());
    }

    Usage usage() const override {
        struct statvfs sv {};
        if (::statvfs(mount_point_.c_str(), &sv) < 0) throw_errno("statvfs " + mount_point_);
        return {(sv.f_blocks - sv.f_bfree) * sv.f_frsize, sv.f_blocks * sv.f_frsize};
    }

    void create_volume(const Volume& volume) override {
        check_volume(volume);
        if (volume.is_snapshot()) throw Error(400, "create_volume cannot make " + describe(volume));
        if (exists(volume)) throw Error(409, describe(volume) + " already exists");
        const std::string target = path(volume);
        check_util(btrfs_util_create_subvolume(target.c_str(), 0, nullptr, nullptr), "creating " + target);
        if (::chmod(target.c_str(), 0711) < 0) {
            const int err = errno;
            delete_tree(target);
            throw SystemError("setting the mode of " + target, err);
        }
    }

    void copy_volume(const Volume& target, const Volume& source) override {
        check_volume(target);
        check_volume(source);
        require(source);
        if (exists(target)) throw Error(409, describe(target) + " already exists");
        if (target.is_snapshot()) {
            require(target.parent());
            make_snapshot_parent(target);
        }
        snapshot_into_place(path(source), path(target), target.is_snapshot());
    }

    void copy_snapshot(const Volume& target, const Volume& source) override {
        check_snapshot(target);
        check_volume(source);
        require(source);
        if (exists(target)) throw Error(409, describe(target) + " already exists");
        make_snapshot_parent(target);
        snapshot_into_place(path(source), path(target), true);
    }

    // A subvolume under a temporary name, filled by a faithful copy, made
    // read-only when it is a snapshot, then renamed into place.
    void import_volume(const Volume& target, const std::string& from_dir) override {
        check_volume(target);
        if (exists(target)) throw Error(409, describe(target) + " already exists");
        if (target.is_snapshot()) make_snapshot_parent(target);
        const std::string temp = temp_path_beside(path(target));
        check_util(btrfs_util_create_subvolume(temp.c_str(), 0, nullptr, nullptr), "creating " + temp);
        try {
            UniqueFd fd(::open(temp.c_str(), O_DIRECTORY | O_CLOEXEC));
            if (!fd) throw_errno("opening " + temp);
            copy_tree_into(from_dir, fd.get());
            fd.reset();
            if (target.is_snapshot()) set_read_only_tree(temp, true);
            rename_noreplace(temp, path(target));
        } catch (...) {
            delete_tree(temp);
            throw;
        }
    }

    void create_snapshot(const Volume& snapshot) override {
        check_snapshot(snapshot);
        require(snapshot.parent());
        if (exists(snapshot)) throw Error(409, describe(snapshot) + " already exists");
        make_snapshot_parent(snapshot);
        snapshot_into_place(path(snapshot.parent()), path(snapshot), true);
    }

    void restore_snapshot(const Volume& snapshot) override {
        check_snapshot(snapshot);
        require(snapshot);
        require(snapshot.parent());
        const std::string volume = path(snapshot.parent());
        const std::string fresh = temp_path_beside(volume);
        make_writable_copy(path(snapshot), fresh);
        try {
            // The restored subvolume is a new one: it takes the old one's limit.
            if (auto bytes = quota_of(volume)) btrfs::set_limit(open_dir(fresh).get(), bytes);
            exchange_paths(fresh, volume);
        } catch (...) {
            delete_tree(fresh);
            throw;
        }
        delete_tree(fresh); // now the old contents
    }

    bool atomic_snapshots() const override { return true; }

    bool set_quota(const Volume& volume, std::optional<std::uint64_t> bytes) override {
        check_volume(volume);
        require(volume);
        UniqueFd fd = open_dir(path(volume));
        if (!is_subvolume(path(volume))) throw Error(500, describe(volume) + " is not a btrfs subvolume");
        if (!btrfs::quotas_enabled(fd.get())) {
            if (!bytes) return true;
            btrfs::enable_quotas(fd.get());
        }
        btrfs::set_limit(fd.get(), bytes);
        return true;
    }

    std::uint64_t volume_usage(const Volume& volume) const override {
        check_volume(volume);
        require(volume);
        const std::string where = path(volume);
        UniqueFd fd = open_dir(where);
        if (btrfs::quotas_enabled(fd.get())) {
            // Qgroup numbers move at transaction commits.
            ::syncfs(fd.get());
            std::uint64_t id = 0;
            check_util(btrfs_util_subvolume_id(where.c_str(), &id), "finding the subvolume of " + where);
            if (auto bytes = btrfs::referenced(fd.get(), id)) return *bytes;
        }
        return tree_usage(where);
    }

private:
    void remove(const std::string& path) const override { delete_tree(path); }

    void create_on_directory() {
        Reverter revert;
        struct stat st {};
        if (::stat(mount_point_.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) throw Error(400, "storage pool '" + spec_.name + "': source " + mount_point_ + " is not a directory");
            if (!on_btrfs(mount_point_))
                throw Error(400, "storage pool '" + spec_.name + "': source " + mount_point_ +
                                     " is not on a btrfs filesystem; use a directory on btrfs, or leave source unset for a loop file");
            std::error_code ec;
            if (!fs::is_empty(mount_point_, ec))
                throw Error(400, "storage pool '" + spec_.name + "': source " + mount_point_ + " is not empty");
        } else {
            if (!on_btrfs(parent_dir(mount_point_)))
                throw Error(400, "storage pool '" + spec_.name + "': source " + mount_point_ +
                                     " does not exist and its parent is not on a btrfs filesystem");
            check_util(btrfs_util_create_subvolume(mount_point_.c_str(), 0, nullptr, nullptr), "creating " + mount_point_);
            revert.add([this] { delete_tree(mount_point_); });
        }
        finish_directory_pool(revert, link_);
        revert.success();
    }

    std::string mount_options() const {
        auto it = spec_.config.find("btrfs.mount_options");
        return it == spec_.config.end() ? default_mount_options : it->second;
    }

    std::optional<std::uint64_t> quota_of(const std::string& volume) const {
        UniqueFd fd = open_dir(volume);
        if (!btrfs::quotas_enabled(fd.get())) return std::nullopt;
        ::syncfs(fd.get()); // limits reach the quota tree at commit
        std::uint64_t id = 0;
        check_util(btrfs_util_subvolume_id(volume.c_str(), &id), "finding the subvolume of " + volume);
        return btrfs::limit(fd.get(), id);
    }

    // A recursive snapshot puts nested subvolumes in place after the top one
    // is taken, touching their parent directories: their times go back to the
    // source's.
    static void keep_parent_times(const std::string& source, const std::string& target) {
        for (const auto& sub : nested_subvolumes(source)) {
            const std::string parent = sub.find('/') == std::string::npos ? "" : "/" + parent_dir(sub);
            struct stat st {};
            if (::lstat((source + parent).c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
            const timespec times[2] = {st.st_atim, st.st_mtim};
            if (::utimensat(AT_FDCWD, (target + parent).c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
                throw_errno("setting the times of " + target + parent);
        }
    }

    // A writable snapshot of source (nested subvolumes included) at target;
    // a faithful copy into a new subvolume if source is a plain directory.
    static void make_writable_copy(const std::string& source, const std::string& target) {
        if (is_subvolume(source)) {
            auto err = btrfs_util_create_snapshot(source.c_str(), target.c_str(), BTRFS_UTIL_CREATE_SNAPSHOT_RECURSIVE,
                                                  nullptr, nullptr);
            if (err != BTRFS_UTIL_OK) {
                const int saved = errno;
                delete_tree(target);
                errno = saved;
                check_util(err, "snapshotting " + source + " to " + target);
            }
            keep_parent_times(source, target);
            return;
        }
        check_util(btrfs_util_create_subvolume(target.c_str(), 0, nullptr, nullptr), "creating " + target);
        try {
            copy_tree_into(source, open_dir(target).get());
        } catch (...) {
            delete_tree(target);
            throw;
        }
    }

    // Makes the copy under a temporary name beside target, then renames it in.
    static void snapshot_into_place(const std::string& source, const std::string& target, bool read_only) {
        const std::string temp = temp_path_beside(target);
        make_writable_copy(source, temp);
        try {
            if (read_only) set_read_only_tree(temp, true);
            rename_noreplace(temp, target);
        } catch (...) {
            delete_tree(temp);
            throw;
        }
    }

    std::string image_; // the loop file, or empty for a pool on an existing btrfs directory
    std::string link_;  // <pools_dir>/<name> when the pool is a directory elsewhere
};

} // namespace

std::unique_ptr<Driver> make_btrfs_driver(PoolSpec spec, const std::string& pools_dir, const std::string& disks_dir) {
    const std::string own = pools_dir + "/" + spec.name;
    auto it = spec.config.find("source");
    if (it == spec.config.end() || it->second.empty()) {
        const std::string image = disks_dir + "/" + spec.name + ".img";
        return std::make_unique<BtrfsDriver>(std::move(spec), own, image, "");
    }
    std::string source = it->second;
    if (source.front() != '/')
        throw Error(400, "storage pool '" + spec.name + "': source '" + source + "' must be an absolute path");
    struct stat st {};
    const bool exists = ::stat(source.c_str(), &st) == 0;
    // A loop file, also when it has gone missing (mount() then says so).
    if ((exists && S_ISREG(st.st_mode)) || (!exists && source == disks_dir + "/" + spec.name + ".img"))
        return std::make_unique<BtrfsDriver>(std::move(spec), own, source, "");
    if (exists && S_ISBLK(st.st_mode))
        throw Error(400, "storage pool '" + spec.name + "': block devices as source are not supported yet; use a directory on btrfs or a loop file");
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    std::error_code ec;
    auto real = fs::weakly_canonical(source, ec);
    if (!ec) source = real.string();
    return std::make_unique<BtrfsDriver>(std::move(spec), source, "", own);
}

} // namespace lodge::storage
