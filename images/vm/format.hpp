// The disk image formats a VM import reads (raw, qcow2, VMDK, VDI, VHDX) and
// probe_disk, which checks an untrusted image's own headers before any other
// program (qemu-img) opens it: no references to other files, nothing past
// its end, nothing bigger than the caller allows.
#pragma once

#include <cstdint>

namespace lodge::vm {

enum class DiskFormat { raw, qcow2, vmdk, vdi, vhdx };

// qemu's driver name for the format ("raw", "qcow2", "vmdk", "vdi", "vhdx").
const char* format_name(DiskFormat format);

struct DiskInfo {
    DiskFormat format = DiskFormat::raw;
    std::uint64_t virtual_size = 0; // bytes the guest sees
    std::uint64_t file_size = 0;    // bytes of the image file
};

// Reads the image behind fd (a regular file) and says what it is. Throws
// Error(400) naming the reason when the image refers to other files (backing
// files, external data files, extents, parents), is encrypted, truncated,
// of a version or feature we do not read, of an unknown format, or bigger
// than max_virtual_size.
DiskInfo probe_disk(int fd, std::uint64_t max_virtual_size);

} // namespace lodge::vm
