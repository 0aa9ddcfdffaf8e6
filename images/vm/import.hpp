// A VM disk into a container's root filesystem: the disk's own headers
// checked, converted to raw by a confined qemu-img, its partitions and
// logical volumes read in user space, each guest filesystem checked and
// mounted read-only, the guest's root found and its fstab followed, the
// tree copied and fixed up. Everything the disk names stays inside the work
// directory and the new root.
#pragma once

#include "images/vm/plan.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace lodge::vm {

struct ImportOptions {
    bool dry_run = false;        // the plan only: nothing copied or written
    bool force = false;          // read filesystems their checker calls corrupt
    bool keep_network = false;   // leave the guest's network configuration alone
    bool keep_machine_id = false;
    std::uint64_t max_virtual_size = std::uint64_t(2) << 40;
};

// phase: "checking", "converting", "reading", "copying", "fixing"; percent
// of that phase.
using ImportProgress = std::function<void(const std::string& phase, int percent)>;

// Reads `disk` and fills `target_rootfs` (an existing empty directory) with
// the guest's tree, fixed up; returns the plan it followed. `work_dir`
// (existing, empty, the caller's to remove) takes the converted disk,
// assembled logical volumes and mount points. Mounts live in a mount
// namespace of the import's own thread, so nothing stays mounted after it,
// even when the process is killed. Error(400) with the reason for a disk
// that cannot be imported.
Plan import_disk(const std::string& disk, const std::string& work_dir, const std::string& target_rootfs,
                 const ImportOptions& options, const ImportProgress& progress = {});

} // namespace lodge::vm
