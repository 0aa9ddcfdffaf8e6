// What all drivers share: where volumes live, listing them, and picking the
// driver for a pool.
#include "storage/driver.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "storage/drivers.hpp"
#include "storage/layout.hpp"

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace lodge::storage {

const char* type_dir(VolumeType type) {
    switch (type) {
    case VolumeType::Container: return "containers";
    case VolumeType::Image: return "images";
    case VolumeType::Custom: return "custom";
    }
    return "custom";
}

std::string Driver::path(const Volume& volume) const {
    if (volume.is_snapshot())
        return mount_point_ + "/" + type_dir(volume.type) + "-snapshots/" + volume.name + "/" + volume.snapshot;
    return mount_point_ + "/" + type_dir(volume.type) + "/" + volume.name;
}

bool Driver::exists(const Volume& volume) const {
    struct stat st {};
    return ::lstat(path(volume).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<Volume> Driver::list_volumes() const {
    std::vector<Volume> volumes;
    std::error_code ec;
    for (auto type : {VolumeType::Container, VolumeType::Image, VolumeType::Custom}) {
        const std::string dir = mount_point_ + "/" + type_dir(type);
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.is_directory(ec) && !entry.is_symlink(ec) && !is_temp_name(entry.path().filename()))
                volumes.push_back({type, entry.path().filename(), {}});
        for (const auto& parent : fs::directory_iterator(dir + "-snapshots", ec)) {
            if (!parent.is_directory(ec) || parent.is_symlink(ec) || is_temp_name(parent.path().filename())) continue;
            for (const auto& snap : fs::directory_iterator(parent.path(), ec))
                if (snap.is_directory(ec) && !snap.is_symlink(ec) && !is_temp_name(snap.path().filename()))
                    volumes.push_back({type, parent.path().filename(), snap.path().filename()});
        }
    }
    return volumes;
}

namespace {

bool kernel_has_filesystem(const std::string& name) {
    const std::string list = read_file_if_exists("/proc/filesystems");
    size_t pos = 0;
    while ((pos = list.find(name, pos)) != std::string::npos) {
        const bool starts = pos > 0 && (list[pos - 1] == '\t' || list[pos - 1] == ' ');
        const size_t end = pos + name.size();
        if (starts && (end == list.size() || list[end] == '\n')) return true;
        pos = end;
    }
    return false;
}

bool exists_path(const char* path) {
    struct stat st {};
    return ::stat(path, &st) == 0;
}

bool has_program(const char* name) {
    for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"})
        if (::access((std::string(dir) + name).c_str(), X_OK) == 0) return true;
    return false;
}

// Whether the kernel has device-mapper: its misc device is registered.
// /dev/mapper/control alone says nothing (installing lvm2 makes the node on a
// kernel without device-mapper, and opening it then fails with ENODEV).
bool kernel_has_device_mapper() {
    const std::string misc = read_file_if_exists("/proc/misc");
    return misc.find(" device-mapper\n") != std::string::npos;
}

bool btrfs_available() { return kernel_has_filesystem("btrfs") && has_program("mkfs.btrfs"); }

// Why a driver lodge knows of cannot run here; lodge has no code for these
// yet, so the answer names what the host lacks first, then that.
std::string unavailable_reason(const std::string& driver) {
    if (driver == "zfs") {
        if (!exists_path("/dev/zfs")) return "the zfs kernel module is not loaded (/dev/zfs is missing)";
        if (!has_program("zfs")) return "the zfs tools are not installed";
    } else if (driver == "lvm") {
        if (!kernel_has_device_mapper()) return "the kernel has no device-mapper (not in /proc/misc)";
        if (!has_program("lvcreate")) return "the lvm2 tools are not installed";
    } else if (driver == "ceph") {
        if (!exists_path("/sys/bus/rbd")) return "the kernel has no rbd module (/sys/bus/rbd is missing)";
        if (!has_program("rbd")) return "the ceph tools (rbd) are not installed";
    } else if (driver == "cephfs") {
        if (!kernel_has_filesystem("ceph")) return "the kernel has no ceph filesystem (not in /proc/filesystems)";
    } else if (driver == "btrfs") {
        if (!kernel_has_filesystem("btrfs")) return "the kernel has no btrfs (not in /proc/filesystems)";
        if (!has_program("mkfs.btrfs")) return "btrfs-progs (mkfs.btrfs) is not installed";
        return "";
    }
    return "lodge does not implement it yet";
}

} // namespace

std::unique_ptr<Driver> make_driver(PoolSpec spec, const std::string& pools_dir, const std::string& disks_dir) {
    check_volume_name(spec.name, "storage pool");
    const std::string driver = spec.driver;
    if (driver == "dir") return make_dir_driver(std::move(spec), pools_dir);
    if (driver == "btrfs" || driver == "zfs" || driver == "lvm" || driver == "ceph" || driver == "cephfs") {
        const std::string reason = unavailable_reason(driver);
        if (!reason.empty())
            throw Error(400, "storage pool driver '" + driver + "' is not available on this host: " + reason);
        return make_btrfs_driver(std::move(spec), pools_dir, disks_dir);
    }
    throw Error(400, "Unknown storage pool driver '" + driver + "'");
}

std::vector<std::string> available_drivers() {
    std::vector<std::string> out{"dir"};
    if (btrfs_available()) out.push_back("btrfs");
    return out;
}

} // namespace lodge::storage
