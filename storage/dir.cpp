// The dir driver: a pool is a directory, volumes are directories in it, and
// snapshots, copies and restores are faithful tree copies (reflinks where the
// filesystem has them). By default the pool is <pools_dir>/<name>; with
// "source" elsewhere, the source directory is the pool itself (its real path
// is the mount point, so no symlink is ever followed when reaching volumes)
// and <pools_dir>/<name> is a symlink to it for people browsing the state
// directory.
#include "storage/copy.hpp"
#include "storage/drivers.hpp"
#include "storage/layout.hpp"
#include "storage/tree_driver.hpp"
#include "storage/tree.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace fs = std::filesystem;

namespace lodge::storage {

namespace {

bool is_empty_dir(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(fs::symlink_status(path, ec)) && fs::is_empty(path, ec) && !ec;
}

class DirDriver final : public TreeDriver {
public:
    DirDriver(PoolSpec spec, std::string mount_point, std::string link)
        : TreeDriver(std::move(spec), std::move(mount_point)), link_(std::move(link)) {}

    void create() override {
        Reverter revert;
        if (link_.empty()) {
            make_dirs(parent_dir(mount_point_), 0711);
            if (::mkdir(mount_point_.c_str(), 0711) == 0) {
                revert.add([this] { ::rmdir(mount_point_.c_str()); });
            } else if (errno != EEXIST || !is_empty_dir(mount_point_)) {
                throw Error(409, "storage pool '" + spec_.name + "': " + mount_point_ +
                                     " already exists and is not an empty directory");
            }
        } else {
            if (::mkdir(mount_point_.c_str(), 0711) == 0) {
                revert.add([this] { ::rmdir(mount_point_.c_str()); });
            } else if (errno == ENOENT) {
                throw Error(400, "storage pool '" + spec_.name + "': the parent of source " + mount_point_ +
                                     " does not exist");
            } else if (errno != EEXIST || !is_empty_dir(mount_point_)) {
                throw Error(400, "storage pool '" + spec_.name + "': source " + mount_point_ +
                                     " must be an empty directory");
            }
        }
        finish_directory_pool(revert, link_);
        revert.success();
    }

    void mount() override {
        struct stat st {};
        if (::stat(mount_point_.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
            throw Error(404, "storage pool '" + spec_.name + "': its directory " + mount_point_ + " is missing");
        make_layout(mount_point_);
    }

    void unmount() override {}

    void destroy() override {
        for (const auto& dir : layout_dirs()) remove_tree(mount_point_ + "/" + dir);
        if (link_.empty()) {
            remove_tree(mount_point_);
        } else {
            // The source directory was the admin's: leave it, empty.
            std::error_code ec;
            if (fs::is_symlink(link_, ec) && fs::read_symlink(link_, ec) == mount_point_) ::unlink(link_.c_str());
        }
    }

    Usage usage() const override {
        struct statvfs sv {};
        if (::statvfs(mount_point_.c_str(), &sv) < 0) throw_errno("statvfs " + mount_point_);
        return {(sv.f_blocks - sv.f_bfree) * sv.f_frsize, sv.f_blocks * sv.f_frsize};
    }

    void create_volume(const Volume& volume) override {
        check_volume(volume);
        if (volume.is_snapshot()) throw Error(400, "create_volume cannot make " + describe(volume));
        const std::string target = path(volume);
        if (::mkdir(target.c_str(), 0711) == 0) return;
        if (errno == EEXIST) throw Error(409, describe(volume) + " already exists");
        throw_errno("creating " + target);
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
        copy_into_place(path(source), path(target));
    }

    void copy_snapshot(const Volume& target, const Volume& source) override {
        check_snapshot(target);
        check_volume(source);
        require(source);
        if (exists(target)) throw Error(409, describe(target) + " already exists");
        make_snapshot_parent(target);
        copy_into_place(path(source), path(target));
    }

    void import_volume(const Volume& target, const std::string& from_dir) override {
        check_volume(target);
        if (exists(target)) throw Error(409, describe(target) + " already exists");
        if (target.is_snapshot()) make_snapshot_parent(target);
        copy_into_place(from_dir, path(target));
    }

    void create_snapshot(const Volume& snapshot) override {
        check_snapshot(snapshot);
        require(snapshot.parent());
        if (exists(snapshot)) throw Error(409, describe(snapshot) + " already exists");
        make_snapshot_parent(snapshot);
        copy_into_place(path(snapshot.parent()), path(snapshot));
    }

    void restore_snapshot(const Volume& snapshot) override {
        check_snapshot(snapshot);
        require(snapshot);
        require(snapshot.parent());
        const std::string volume = path(snapshot.parent());
        const std::string fresh = temp_path_beside(volume);
        copy_tree(path(snapshot), fresh);
        try {
            exchange_paths(fresh, volume);
        } catch (...) {
            remove_tree(fresh);
            throw;
        }
        remove_tree(fresh); // now the old contents
    }

    bool atomic_snapshots() const override { return false; }

    bool set_quota(const Volume& volume, std::optional<std::uint64_t>) override {
        check_volume(volume);
        return false;
    }

    std::uint64_t volume_usage(const Volume& volume) const override {
        check_volume(volume);
        require(volume);
        return tree_usage(path(volume));
    }

private:
    void remove(const std::string& path) const override { remove_tree(path); }

    // Copies under a temporary name beside `target`, then renames it in.
    static void copy_into_place(const std::string& source, const std::string& target) {
        const std::string temp = temp_path_beside(target);
        copy_tree(source, temp);
        try {
            rename_noreplace(temp, target);
        } catch (...) {
            remove_tree(temp);
            throw;
        }
    }

    std::string link_; // <pools_dir>/<name> when the pool's directory is elsewhere
};

} // namespace

std::unique_ptr<Driver> make_dir_driver(PoolSpec spec, const std::string& pools_dir) {
    const std::string own = pools_dir + "/" + spec.name;
    auto it = spec.config.find("source");
    if (it == spec.config.end() || it->second.empty() || it->second == own)
        return std::make_unique<DirDriver>(std::move(spec), own, "");
    std::string source = it->second;
    if (source.front() != '/')
        throw Error(400, "storage pool '" + spec.name + "': source '" + source + "' must be an absolute path");
    while (source.size() > 1 && source.back() == '/') source.pop_back();
    // The real path, so that reaching volumes follows no symlink.
    std::error_code ec;
    auto real = fs::weakly_canonical(source, ec);
    if (!ec) source = real.string();
    return std::make_unique<DirDriver>(std::move(spec), source, own);
}

} // namespace lodge::storage
