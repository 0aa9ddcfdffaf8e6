// Guest filesystems on the host: each checked by its own read-only checker,
// then mounted read-only without replaying its journal, through a loop
// device over its byte range. The source is never written.
#pragma once

#include "storage/loop.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lodge::vm {

// The filesystems the import mounts; anything else is reported, not read.
bool is_supported_filesystem(const std::string& type);

// A filesystem somewhere in a file (the raw disk or an assembled LV).
struct FilesystemSource {
    std::string name;  // for messages: "partition 2", "lv vg0/root"
    std::string file;  // the raw disk or the assembled LV
    storage::LoopRange range;
    std::string type;  // as libblkid names it: ext4, xfs, btrfs …
};

// A source attached read-only and checked once; mounts of it (several for
// btrfs subvolumes) share the device.
class GuestFilesystem {
public:
    // Attaches and runs the checker: Error(400) naming the filesystem and
    // the checker's findings when it is corrupt, unless `force` (then a
    // warning). A journal or log that needs recovery is a warning: it is not
    // replayed, so what it holds is not imported.
    GuestFilesystem(FilesystemSource source, bool force, std::vector<std::string>& warnings);

    // Mounts it read-only (nosuid, nodev, noexec, no journal replay) at
    // `mount_point`; `subvolume` selects a btrfs subvolume by path ("" is
    // the top level).
    void mount(const std::string& mount_point, const std::string& subvolume = "") const;

    const FilesystemSource& source() const { return source_; }

private:
    FilesystemSource source_;
    storage::LoopDevice loop_;
};

} // namespace lodge::vm
