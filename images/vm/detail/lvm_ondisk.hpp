// LVM2's on-disk PV structures (label, pv_header, metadata areas), read
// with bounds and checksum checks; the text metadata is parsed elsewhere.
#pragma once

#include "images/vm/lvm.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::vm::detail {

struct PvArea {
    std::uint64_t offset = 0, size = 0; // bytes into the PV
};

struct PvOnDisk {
    std::string uuid;                  // 32 characters, no dashes
    std::uint64_t device_size = 0;
    std::vector<PvArea> data_areas, metadata_areas;
    std::vector<std::string> metadata; // the current text of each usable area
    std::vector<std::string> notes;    // why an area was skipped
};

// LVM's CRC (CRC-32, no final inversion) from `crc`.
std::uint32_t lvm_crc(std::uint32_t crc, const unsigned char* data, std::size_t size);

// The PV at pv.offset, or nullopt when it carries no LVM2 label.
std::optional<PvOnDisk> read_pv(int fd, const PvCandidate& pv);

} // namespace lodge::vm::detail
