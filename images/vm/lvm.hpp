// LVM2 logical volumes of a raw disk, read in user space (no device-mapper
// here): PV labels, metadata areas and the VG's text metadata, resolved to
// byte ranges of the disk; and an LV's bytes assembled into one sparse file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::vm {

struct LvSegment {
    std::uint64_t start_extent = 0, extent_count = 0;
    std::uint64_t disk_offset = 0; // bytes into the raw disk (0 when the segment is not supported)
    std::uint64_t length = 0;      // bytes
    std::uint64_t lv_offset = 0;   // bytes into the LV
    std::string type;              // the segment type as LVM writes it ("striped", "thin", "raid1" …)
};

struct LogicalVolume {
    std::string vg, name, uuid;
    std::uint64_t size = 0; // bytes
    std::vector<LvSegment> segments;
    bool visible = true;    // false for LVM's internal sub-volumes (_tdata, _rimage_0, snapshot0 …)
    bool supported = false; // linear (or single-stripe) segments on PVs we have
    std::string unsupported_reason;
};

// A partition (or the whole disk) that blkid says is an LVM2_member.
struct PvCandidate {
    std::uint64_t offset = 0, size = 0;
};

// The LVs of every VG whose metadata one of the PVs holds (the newest copy
// by seqno). Thin, RAID, mirror, snapshot, cache, VDO, multi-stripe LVs and
// LVs on missing PVs are listed with supported=false and the reason.
// Error(400) for metadata that is malformed or points outside its PV.
std::vector<LogicalVolume> read_lvm(int fd, const std::vector<PvCandidate>& pvs);

// Writes the LV's bytes to out_fd (a new, empty file) at their LV offsets,
// copying only the allocated ranges of disk_fd, so holes stay holes; the
// file ends at the LV's size. Error(400) for an unsupported LV.
void assemble_lv(int disk_fd, const LogicalVolume& lv, int out_fd);

} // namespace lodge::vm
