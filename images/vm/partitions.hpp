// The partition table of a raw disk (MBR with logical partitions, GPT) and
// the filesystem signature of a region, both read with libblkid from an fd
// with an offset, as the kernel here parses no partition tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::vm {

enum class PartitionRole { linux, efi_system, bios_boot, swap, lvm, extended, other };

const char* role_name(PartitionRole role); // "linux", "efi-system", "bios-boot", "swap", "lvm", "extended", "other"

struct Partition {
    int number = 0;
    std::uint64_t offset = 0, size = 0; // bytes into the disk
    std::string type;                   // GPT type GUID (lower case) or MBR "0x83"
    std::string uuid;                   // PARTUUID as blkid gives it
    std::string name;                   // GPT partition name
    PartitionRole role = PartitionRole::other;
    bool logical = false;               // an MBR logical partition (inside the extended one)
};

struct PartitionTable {
    std::string type; // "gpt", "dos", or "" when the disk has no table (a filesystem on the whole disk)
    std::string id;   // the disk identifier as blkid gives it (GPT GUID, MBR "1234abcd")
    std::vector<Partition> partitions;
};

// Reads the table of the disk behind fd. Error(400) when a partition lies
// outside the disk or two overlap (logical partitions are inside their
// extended one, which is allowed), or the table cannot be parsed.
PartitionTable read_partitions(int fd, std::uint64_t disk_size);

struct FilesystemProbe {
    std::string type;    // "ext4", "xfs", "btrfs", "vfat", "swap", "LVM2_member" …
    std::string uuid;
    std::string label;
    std::string version;
};

// The filesystem (or swap, or LVM PV) signature of [offset, offset+size) of
// fd; nullopt when there is none or the signatures are ambiguous.
std::optional<FilesystemProbe> probe_filesystem(int fd, std::uint64_t offset, std::uint64_t size);

} // namespace lodge::vm
