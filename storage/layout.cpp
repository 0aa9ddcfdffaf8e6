// Pool layout, volume names and temporary names shared by the drivers.
#include "storage/layout.hpp"

#include "common/error.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

namespace fs = std::filesystem;

namespace lodge::storage {

bool is_temp_name(const std::string& name) { return name.rfind(temp_prefix, 0) == 0; }

std::string temp_name(const std::string& base) {
    unsigned char bytes[6];
    if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) throw_errno("getrandom");
    static const char hex[] = "0123456789abcdef";
    std::string suffix;
    for (unsigned char b : bytes) {
        suffix += hex[b >> 4];
        suffix += hex[b & 15];
    }
    return temp_prefix + base + "-" + suffix;
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string temp_path_beside(const std::string& path) {
    return parent_dir(path) + "/" + temp_name(base_name(path));
}

void check_volume_name(const std::string& name, const char* what) {
    if (name.empty() || name == "." || name == ".." || name[0] == '.' || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos || name.size() > 200)
        throw Error(400, std::string("invalid ") + what + " name '" + name +
                             "': it must be a non-empty name without '/' that does not start with '.'");
}

void check_volume(const Volume& volume) {
    check_volume_name(volume.name);
    if (volume.is_snapshot()) check_volume_name(volume.snapshot, "snapshot");
}

std::vector<std::string> layout_dirs() {
    return {"containers", "containers-snapshots", "images", "custom", "custom-snapshots"};
}

void make_layout(const std::string& mount_point) {
    for (const auto& dir : layout_dirs()) {
        const std::string path = mount_point + "/" + dir;
        // Snapshots are only for the host to see; volumes are entered by
        // container roots through their own directory.
        const mode_t mode = dir.find("-snapshots") != std::string::npos ? 0700 : 0711;
        if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("creating " + path);
    }
}

std::vector<std::string> find_temp_entries(const std::string& mount_point) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& dir : layout_dirs()) {
        const bool snapshots = dir.find("-snapshots") != std::string::npos;
        for (const auto& entry : fs::directory_iterator(mount_point + "/" + dir, ec)) {
            const std::string name = entry.path().filename();
            if (is_temp_name(name)) {
                out.push_back(entry.path());
                continue;
            }
            if (!snapshots || entry.is_symlink(ec) || !entry.is_directory(ec)) continue;
            for (const auto& snap : fs::directory_iterator(entry.path(), ec))
                if (is_temp_name(snap.path().filename())) out.push_back(snap.path());
        }
    }
    return out;
}

void rename_noreplace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
    if (errno == EEXIST) throw Error(409, to + " already exists");
    throw_errno("renaming " + from + " to " + to);
}

void exchange_paths(const std::string& a, const std::string& b) {
    if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) < 0)
        throw_errno("exchanging " + a + " and " + b);
}

std::string describe(const Volume& volume) {
    std::string out = std::string(type_dir(volume.type)) + " volume '" + volume.name + "'";
    if (volume.is_snapshot()) out = "snapshot '" + volume.snapshot + "' of " + out;
    return out;
}

} // namespace lodge::storage
