// The VDI and VHDX checks of probe_disk: header geometry, tables inside the
// file, and no differencing images (a VDI with a parent UUID, a VHDX with
// the has-parent flag or a parent locator), which would need another file.
#include "images/vm/detail/disk_reader.hpp"

#include <fmt/format.h>

#include <array>

namespace lodge::vm::detail {

namespace {

constexpr std::uint32_t vdi_version = 0x00010001;
constexpr std::uint32_t vdi_dynamic = 1, vdi_static = 2, vdi_undo = 3, vdi_diff = 4;

bool all_zero(const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (p[i]) return false;
    return true;
}

using Guid = std::array<unsigned char, 16>;

// A GUID as VHDX stores it: the first three fields little-endian.
constexpr Guid guid(std::uint32_t a, std::uint16_t b, std::uint16_t c, std::uint64_t d) {
    Guid g{};
    for (int i = 0; i < 4; ++i) g[i] = (unsigned char)(a >> (8 * i));
    for (int i = 0; i < 2; ++i) g[4 + i] = (unsigned char)(b >> (8 * i));
    for (int i = 0; i < 2; ++i) g[6 + i] = (unsigned char)(c >> (8 * i));
    for (int i = 0; i < 8; ++i) g[8 + i] = (unsigned char)(d >> (8 * (7 - i)));
    return g;
}

constexpr Guid region_bat = guid(0x2DC27766, 0xF623, 0x4200, 0x9D64115E9BFD4A08);
constexpr Guid region_metadata = guid(0x8B7CA206, 0x4790, 0x4B9A, 0xB8FE575F050F886E);
constexpr Guid item_file_parameters = guid(0xCAA16737, 0xFA36, 0x4D43, 0xB3B633F0AA44E76B);
constexpr Guid item_virtual_disk_size = guid(0x2FA54224, 0xCD1B, 0x4876, 0xB2115DBED83BF4B8);
constexpr Guid item_parent_locator = guid(0xA8D35F2D, 0xB30B, 0x454D, 0xABF7D3D84834AB0C);

bool is(const unsigned char* p, const Guid& g) { return std::memcmp(p, g.data(), 16) == 0; }

constexpr std::uint64_t vhdx_region_table = 192 * 1024;
constexpr std::uint32_t vhdx_has_parent = 1 << 1;
constexpr std::uint32_t max_metadata_region = 16u << 20;

struct Region {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    bool found = false;
};

} // namespace

std::uint64_t probe_vdi(const DiskReader& disk) {
    auto b = disk.read(0, 0x1c8, "VDI header");
    const unsigned char* p = b.data();
    std::uint32_t version = le32(p + 0x44), type = le32(p + 0x4c);
    if (version != vdi_version) throw Error(400, fmt::format("VDI version 0x{:08x} is not supported", version));
    if (type == vdi_diff || type == vdi_undo || !all_zero(p + 0x1b8, 16))
        throw Error(400, "VDI image is a differencing image of a parent image; a disk image that refers to another "
                         "file is not imported (clone it to a standalone VDI first)");
    if (type != vdi_dynamic && type != vdi_static) throw Error(400, fmt::format("VDI image type {} is not supported", type));
    std::uint32_t offset_bmap = le32(p + 0x154), offset_data = le32(p + 0x158), sector_size = le32(p + 0x168);
    std::uint64_t disk_size = le64(p + 0x170);
    std::uint32_t block_size = le32(p + 0x178), blocks = le32(p + 0x180);
    if (sector_size != 512 || block_size != 1024 * 1024 || offset_bmap % 512 != 0 || offset_data % 512 != 0)
        throw Error(400, "VDI geometry is not supported (qemu reads 512-byte sectors and 1 MiB blocks)");
    disk.check_virtual_size(disk_size);
    if (std::uint64_t(blocks) * block_size < disk_size)
        throw Error(400, "VDI block map is too small for the disk size: the image is corrupt");
    disk.require(offset_bmap, std::uint64_t(blocks) * 4, "VDI block map");
    disk.require(offset_data, 0, "VDI data area");
    return disk_size;
}

std::uint64_t probe_vhdx(const DiskReader& disk) {
    auto rt = disk.read(vhdx_region_table, 64 * 1024, "VHDX region table");
    if (std::memcmp(rt.data(), "regi", 4) != 0) throw Error(400, "VHDX region table is missing: the image is corrupt");
    std::uint32_t count = le32(rt.data() + 8);
    if (count > 2047) throw Error(400, "VHDX region table is corrupt");
    Region bat, meta;
    for (std::uint32_t i = 0; i < count; ++i) {
        const unsigned char* e = rt.data() + 16 + 32 * std::size_t(i);
        Region r{le64(e + 16), le32(e + 24), true};
        bool required = le32(e + 28) & 1;
        if (is(e, region_bat))
            bat = r;
        else if (is(e, region_metadata))
            meta = r;
        else if (required)
            throw Error(400, "VHDX image has a required region qemu does not know: not imported");
        disk.require(r.offset, r.length, "VHDX region");
    }
    if (!bat.found || !meta.found) throw Error(400, "VHDX image lacks its BAT or metadata region: the image is corrupt");
    if (meta.length < 32 + 32) throw Error(400, "VHDX metadata region is too small: the image is corrupt");
    // Writers make it 1 MiB; the cap keeps a hostile length from sizing our buffer.
    if (meta.length > max_metadata_region) throw Error(400, "VHDX metadata region is too large: the image is corrupt");
    auto md = disk.read(meta.offset, meta.length, "VHDX metadata region");
    if (std::memcmp(md.data(), "metadata", 8) != 0) throw Error(400, "VHDX metadata table is missing: the image is corrupt");
    std::uint16_t entries = le16(md.data() + 10);
    if (entries > 2047 || 32 + 32 * std::uint64_t(entries) > md.size())
        throw Error(400, "VHDX metadata table is corrupt");
    std::uint64_t size = 0;
    bool have_size = false, have_params = false;
    for (std::uint16_t i = 0; i < entries; ++i) {
        const unsigned char* e = md.data() + 32 + 32 * std::size_t(i);
        std::uint32_t offset = le32(e + 16), length = le32(e + 20);
        if (std::uint64_t(offset) + length > md.size()) throw Error(400, "VHDX metadata item lies outside its region");
        const unsigned char* v = md.data() + offset;
        if (is(e, item_parent_locator))
            throw Error(400, "VHDX image is a differencing disk (it has a parent locator); a disk image that refers "
                             "to another file is not imported");
        if (is(e, item_file_parameters) && length >= 8) {
            have_params = true;
            if (le32(v + 4) & vhdx_has_parent)
                throw Error(400, "VHDX image is a differencing disk (has-parent flag); a disk image that refers to "
                                 "another file is not imported");
        }
        if (is(e, item_virtual_disk_size) && length >= 8) {
            have_size = true;
            size = le64(v);
        }
    }
    if (!have_size || !have_params) throw Error(400, "VHDX metadata lacks the disk size or file parameters");
    disk.check_virtual_size(size);
    return size;
}

} // namespace lodge::vm::detail
