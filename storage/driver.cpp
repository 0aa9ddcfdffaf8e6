// What all drivers share: where volumes live, listing them, and picking the
// driver for a pool.
#include "storage/driver.hpp"

#include "common/error.hpp"

#include <filesystem>
#include <sys/stat.h>

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
            if (entry.is_directory(ec) && !entry.is_symlink(ec))
                volumes.push_back({type, entry.path().filename(), {}});
        for (const auto& parent : fs::directory_iterator(dir + "-snapshots", ec)) {
            if (!parent.is_directory(ec) || parent.is_symlink(ec)) continue;
            for (const auto& snap : fs::directory_iterator(parent.path(), ec))
                if (snap.is_directory(ec) && !snap.is_symlink(ec))
                    volumes.push_back({type, parent.path().filename(), snap.path().filename()});
        }
    }
    return volumes;
}

} // namespace lodge::storage
