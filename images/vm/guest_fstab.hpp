// The guest's /etc/fstab as the import reads it to assemble the guest's
// tree: which entry names which volume of the disk.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lodge::vm {

struct FstabEntry {
    std::string source; // UUID=…, LABEL=…, /dev/…, tmpfs …
    std::string target; // the mount point
    std::string type;
    std::string options;
    int line = 0;

    // The value of option `name` ("subvol" in "rw,subvol=@home"), if set.
    std::optional<std::string> option(const std::string& name) const;
    bool has_flag(const std::string& name) const;
};

// fstab(5): blank lines and comments skipped, fields split on blanks, octal
// escapes (\040) decoded. Malformed lines are skipped.
std::vector<FstabEntry> parse_fstab(const std::string& text);

// Whether a filesystem type is reached over a network (never on the disk).
bool is_network_filesystem(const std::string& type);

// What the import knows of one volume, to match fstab sources against.
struct VolumeIdentity {
    std::string uuid, label, partuuid, partlabel;
    int partition = 0;   // its number in the partition table, 0 for none
    std::string vg, lv;  // for a logical volume
};

// The volume an fstab source names: UUID=, LABEL=, PARTUUID=, PARTLABEL=,
// /dev/disk/by-*/…, /dev/mapper/VG-LV, /dev/VG/LV, or a device path of the
// first disk (/dev/sda2, /dev/vda2, /dev/xvda2, /dev/nvme0n1p2, /dev/mmcblk0p2).
std::optional<std::size_t> match_fstab_source(const std::string& source, const std::vector<VolumeIdentity>& volumes);

} // namespace lodge::vm
