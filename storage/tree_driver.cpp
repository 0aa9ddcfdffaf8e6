// The volume moves the dir and btrfs drivers share.
#include "storage/tree_driver.hpp"

#include "storage/layout.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace lodge::storage {

void TreeDriver::finish_directory_pool(Reverter& revert, const std::string& link) {
    if (!link.empty()) {
        make_dirs(parent_dir(link), 0711);
        if (::symlink(mount_point_.c_str(), link.c_str()) < 0)
            throw Error(409, "storage pool '" + spec_.name + "': " + link + " already exists");
        revert.add([link] { ::unlink(link.c_str()); });
    }
    revert.add([this] {
        for (const auto& dir : layout_dirs()) ::rmdir((mount_point_ + "/" + dir).c_str());
    });
    make_layout(mount_point_);
    spec_.config["source"] = mount_point_;
}

std::string TreeDriver::snapshots_dir(const Volume& volume) const {
    return mount_point_ + "/" + type_dir(volume.type) + "-snapshots/" + volume.name;
}

void TreeDriver::require(const Volume& volume) const {
    if (!exists(volume)) throw Error(404, describe(volume) + " not found");
}

void TreeDriver::check_snapshot(const Volume& snapshot) {
    check_volume(snapshot);
    if (!snapshot.is_snapshot()) throw Error(400, describe(snapshot) + " is not a snapshot");
}

void TreeDriver::make_snapshot_parent(const Volume& snapshot) const {
    const std::string dir = snapshots_dir(snapshot);
    if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("creating " + dir);
}

void TreeDriver::delete_volume(const Volume& volume) {
    check_volume(volume);
    if (volume.is_snapshot()) return delete_snapshot(volume);
    require(volume);
    const std::string snaps = snapshots_dir(volume);
    // Out of sight first, removed after: a crash halfway leaves only
    // temporary names for remove_leftovers().
    std::string doomed_snaps;
    if (fs::exists(fs::symlink_status(snaps))) {
        doomed_snaps = temp_path_beside(snaps);
        rename_noreplace(snaps, doomed_snaps);
    }
    const std::string doomed = temp_path_beside(path(volume));
    try {
        rename_noreplace(path(volume), doomed);
    } catch (...) {
        if (!doomed_snaps.empty()) ::rename(doomed_snaps.c_str(), snaps.c_str());
        throw;
    }
    if (!doomed_snaps.empty()) remove(doomed_snaps);
    remove(doomed);
}

void TreeDriver::rename_volume(const Volume& volume, const std::string& new_name) {
    check_volume(volume);
    check_volume_name(new_name);
    if (volume.is_snapshot()) return rename_snapshot(volume, new_name);
    require(volume);
    const Volume renamed{volume.type, new_name, {}};
    const std::string snaps = snapshots_dir(volume), new_snaps = snapshots_dir(renamed);
    if (fs::exists(fs::symlink_status(new_snaps)))
        throw Error(409, "snapshots of " + describe(renamed) + " already exist");
    rename_noreplace(path(volume), path(renamed));
    if (!fs::exists(fs::symlink_status(snaps))) return;
    try {
        rename_noreplace(snaps, new_snaps);
    } catch (...) {
        ::rename(path(renamed).c_str(), path(volume).c_str());
        throw;
    }
}

void TreeDriver::delete_snapshot(const Volume& snapshot) {
    check_snapshot(snapshot);
    require(snapshot);
    const std::string doomed = temp_path_beside(path(snapshot));
    rename_noreplace(path(snapshot), doomed);
    remove(doomed);
    ::rmdir(snapshots_dir(snapshot).c_str()); // the last one takes its directory along
}

void TreeDriver::rename_snapshot(const Volume& snapshot, const std::string& new_name) {
    check_snapshot(snapshot);
    check_volume_name(new_name, "snapshot");
    require(snapshot);
    rename_noreplace(path(snapshot), path(snapshot.parent().snapshot_of(new_name)));
}

std::vector<std::string> TreeDriver::remove_leftovers() {
    std::vector<std::string> removed;
    for (const auto& leftover : find_temp_entries(mount_point_)) {
        remove(leftover);
        removed.push_back(leftover);
    }
    return removed;
}

} // namespace lodge::storage
