// The plan of a VM disk import: what the disk holds (format, partition
// table, partitions and logical volumes with their filesystems), which
// filesystem is the guest's root and why, what is mounted where, and every
// fixup, file by file. `--dry-run` prints it; a real import follows it and
// records it in the image's properties.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::vm {

// A partition, a logical volume or the whole disk, and what is on it.
struct PlanVolume {
    std::string name;        // "partition 2", "lv vg0/root", "disk"
    std::uint64_t offset = 0; // bytes into the raw disk (0 for an assembled LV)
    std::uint64_t size = 0;
    std::string kind;        // "linux", "efi", "bios-boot", "swap", "lvm-pv", "extended", "lv", "disk", "other"
    std::string filesystem;  // "ext4", "xfs", "btrfs", "vfat", "swap", "" when none was found
    std::string uuid;
    std::string label;
    std::string partuuid;
    std::string use;         // what the import does with it: "root", "mounted at /boot", "skipped: swap" …
};

// One filesystem of the guest's tree.
struct PlanMount {
    std::string path;   // "/", "/boot", "/home"
    std::string volume; // PlanVolume::name
    std::string fstab_source; // as the guest's fstab names it ("UUID=…", "LABEL=…", "/dev/mapper/vg-root")
    std::string options;      // the guest's fstab options (subvol=@home …)
};

// One change written into the new root.
struct PlanFixup {
    std::string fixup;  // "fstab", "network", "units", "machine-id", "cloud-init", "udev"
    std::string path;   // inside the guest root
    std::string action; // what is done to it, in words
};

struct Plan {
    std::string format;            // "qcow2", "raw" …
    std::uint64_t virtual_size = 0;
    std::uint64_t file_size = 0;
    std::string partition_table;   // "gpt", "dos", "" (a filesystem on the whole disk)
    std::vector<PlanVolume> volumes;
    std::string root;              // PlanVolume::name of the root
    std::string root_reason;       // why that one
    std::vector<PlanMount> mounts; // the guest's tree, root first
    std::vector<std::string> left_out; // fstab entries not assembled, with the reason
    std::vector<PlanFixup> fixups;
    // From the guest's os-release and init's ELF header.
    std::string os, os_release, os_version, architecture;
    std::vector<std::string> warnings;
};

nlohmann::json to_json(const Plan& plan);
Plan plan_from_json(const nlohmann::json& j);
// The plan as `lodge image import-vm --dry-run` prints it.
std::string render_plan(const Plan& plan);

} // namespace lodge::vm
