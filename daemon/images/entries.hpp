// The entries of an image tarball: where each goes in an instance
// directory and what no entry may do (leave the image, go through a
// symlink, be a device other than the standard ones, make the image too
// big). Both passes over a tarball (upload, unpack) ask these; internal to
// the image store.
#pragma once

#include "common/error.hpp"

#include <archive_entry.h>
#include <sys/sysmacros.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace lodge::daemon {

// How much an image may unpack to: a size bomb (a small, highly compressed
// archive) is refused at the entry that crosses the limit, before anything
// is written. Entry sizes are what tar headers declare, so the count is
// exact for the data that follows them.
struct Budget {
    std::int64_t limit = 0;
    std::int64_t used = 0;
    void take(std::int64_t bytes, const std::string& entry) {
        used += bytes;
        if (bytes < 0 || used > limit)
            throw Error(400, "Image entry '" + entry + "' makes the image unpack to more than " +
                                 std::to_string(limit) + " bytes (the image size limit)");
    }
};

// Device nodes an image may bring: the character devices every container
// gets anyway. Others (disks, /dev/mem, ...) are left out when unpacking,
// as LXD leaves dev/* out of images it unpacks unprivileged: a node in an
// instance's rootfs would otherwise be a door to the host's device for
// whoever can reach it.
inline bool allowed_device(archive_entry* entry) {
    if (archive_entry_filetype(entry) != AE_IFCHR) return false;
    const auto dev = archive_entry_rdev(entry);
    const unsigned ma = major(dev), mi = minor(dev);
    if (ma == 1) return mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9; // null zero full random urandom
    if (ma == 5) return mi <= 2;                                             // tty console ptmx
    return false;
}

inline bool is_device(archive_entry* entry) {
    auto type = archive_entry_filetype(entry);
    return type == AE_IFCHR || type == AE_IFBLK;
}

// Which file of an image a tarball is.
enum class Part { Unified, Metadata, Rootfs };

// Where an entry of a unified tarball goes, relative to the instance
// directory ("rootfs/bin/sh"), "" for entries lodge does not use, nullopt
// for names that are not allowed (absolute, with "..").
inline std::optional<std::string> unified_target(const std::string& raw) {
    std::string name = raw;
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    while (name.size() > 1 && name.back() == '/') name.pop_back();
    if (name.empty() || name == ".") return std::string();
    if (name.front() == '/') return std::nullopt;
    std::string clean;
    size_t start = 0;
    while (start <= name.size()) {
        auto slash = name.find('/', start);
        if (slash == std::string::npos) slash = name.size();
        auto part = name.substr(start, slash - start);
        start = slash + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") return std::nullopt;
        if (!clean.empty()) clean += '/';
        clean += part;
    }
    auto top = clean.substr(0, clean.find('/'));
    if (clean == "metadata.yaml" || top == "rootfs" || top == "templates") return clean;
    return std::string();
}

// The same for each part of an image: a split image's metadata file gives
// metadata.yaml and templates/, its rootfs file the contents of rootfs/.
inline std::optional<std::string> entry_target(const std::string& raw, Part part) {
    if (part == Part::Unified) return unified_target(raw);
    if (part == Part::Metadata) {
        auto target = unified_target(raw);
        if (target && target->rfind("rootfs", 0) == 0) return std::string();
        return target;
    }
    std::string name = raw;
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (!name.empty() && name.front() == '/') return std::nullopt;
    if (name.empty() || name == "." || name == "./") return std::string("rootfs");
    return unified_target("rootfs/" + name);
}

// metadata.yaml and templates/ are read by lodged outside the container:
// there only files and directories, never a symlink or a device that would
// lead it to a host file.
// rootfs/ itself must be a directory: a symlink there would make the
// instance's root a host directory.
inline void check_outside_rootfs(const std::string& target, archive_entry* entry) {
    if (target.empty() || target.rfind("rootfs/", 0) == 0) return;
    auto type = archive_entry_filetype(entry);
    if (target == "rootfs" && (type != AE_IFDIR || archive_entry_hardlink(entry)))
        throw Error(400, "Image entry 'rootfs' must be a directory");
    if (archive_entry_hardlink(entry)) return;
    if (type != AE_IFREG && type != AE_IFDIR)
        throw Error(400, "Image entry '" + target + "' must be a file or a directory");
}

// Entries below a name that was a symlink would be written through it
// (tar's classic escape): refused by name on both passes, whatever the
// symlink points at.
class SymlinkGuard {
public:
    void check(const std::string& target, const char* what = "entry") const {
        for (auto slash = target.find('/'); slash != std::string::npos; slash = target.find('/', slash + 1))
            if (links_.count(target.substr(0, slash)))
                throw Error(400, std::string("Image ") + what + " '" + target + "' is written through the symlink '" +
                                     target.substr(0, slash) + "'");
    }
    void note(const std::string& target, archive_entry* entry) {
        if (archive_entry_filetype(entry) == AE_IFLNK && !archive_entry_hardlink(entry)) links_.insert(target);
    }

private:
    std::set<std::string> links_;
};

// Where an entry goes inside the image, refusing entries that leave it
// and non-plain files outside rootfs/ (both passes over a tarball ask this).
inline std::string checked_target(archive_entry* entry, Part part) {
    const char* raw = archive_entry_pathname(entry);
    auto target = entry_target(raw ? raw : "", part);
    if (!target) throw Error(400, std::string("Image tarball entry '") + (raw ? raw : "") + "' leaves the image");
    check_outside_rootfs(*target, entry);
    return *target;
}

} // namespace lodge::daemon
