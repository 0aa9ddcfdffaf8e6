// The VMDK checks of probe_disk. qemu opens other files from a VMDK in three
// ways (block/vmdk.c): the extents of a text descriptor, the extents of an
// embedded descriptor when a sparse header has capacity 0, and a
// parentFileNameHint in the descriptor it reads at byte 512 of a sparse
// file. All three are refused; only a self-contained monolithicSparse or
// streamOptimized file passes.
#include "images/vm/detail/disk_reader.hpp"

#include <fmt/format.h>

#include <regex>

namespace lodge::vm::detail {

namespace {

constexpr std::uint32_t flag_rgd = 1 << 1;
constexpr std::uint64_t gd_at_end = ~std::uint64_t(0);
constexpr std::uint64_t desc_size_qemu_reads = 20 * 512; // qemu's DESC_SIZE

struct Header {
    std::uint32_t version, flags, num_gtes_per_gt;
    std::uint64_t capacity, granularity, desc_offset, desc_size, rgd_offset, gd_offset, grain_offset;
};

// The header after the 4-byte magic, as in VMDK4Header.
Header parse_header(const unsigned char* p) {
    Header h{};
    h.version = le32(p + 4);
    h.flags = le32(p + 8);
    h.capacity = le64(p + 12);
    h.granularity = le64(p + 20);
    h.desc_offset = le64(p + 28);
    h.desc_size = le64(p + 36);
    h.num_gtes_per_gt = le32(p + 44);
    h.rgd_offset = le64(p + 48);
    h.gd_offset = le64(p + 56);
    h.grain_offset = le64(p + 64);
    return h;
}

std::string until_nul(const std::vector<unsigned char>& b) {
    std::string s(b.begin(), b.end());
    return s.substr(0, s.find('\0'));
}

struct Extent {
    std::string access, type, file;
};

// Extent lines as qemu's sscanf reads them: ACCESS SECTORS TYPE "FILE" [OFFSET].
std::vector<Extent> extents_of(const std::string& text) {
    static const std::regex line(R"re(^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)(?:\s+"([^"\r\n]*)")?)re");
    std::vector<Extent> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::smatch m;
        std::string l = text.substr(pos, end - pos);
        if (std::regex_search(l, m, line)) out.push_back({m[1], m[2], m[3]});
        pos = end + 1;
    }
    return out;
}

std::string value_of(const std::string& text, const std::string& key) {
    std::smatch m;
    std::regex re("(^|\\n)\\s*" + key + "\\s*=\\s*\"([^\"\\r\\n]*)\"");
    return std::regex_search(text, m, re) ? std::string(m[2]) : std::string();
}

// The descriptor a sparse file embeds must describe that file alone.
void check_embedded_descriptor(const std::string& text) {
    if (text.find("parentFileNameHint") != std::string::npos)
        throw Error(400, fmt::format("VMDK image is a delta disk of parent '{}' (parentFileNameHint); a disk image that "
                                     "refers to another file is not imported (flatten it first)",
                                     printable(value_of(text, "parentFileNameHint"))));
    std::string create_type = value_of(text, "createType");
    if (!create_type.empty() && create_type != "monolithicSparse" && create_type != "streamOptimized")
        throw Error(400, fmt::format("VMDK image embeds a descriptor of type '{}'; only monolithicSparse and "
                                     "streamOptimized VMDK files are imported",
                                     printable(create_type)));
    auto extents = extents_of(text);
    if (extents.size() > 1 || (extents.size() == 1 && extents[0].type != "SPARSE"))
        throw Error(400, fmt::format("VMDK image's descriptor names extent '{}' of type {}; only a single-file VMDK is "
                                     "imported",
                                     printable(extents.back().file), printable(extents.back().type)));
}

} // namespace

bool is_vmdk_descriptor(const std::string& text) {
    std::string head = text.substr(0, 4096);
    return head.find("# Disk DescriptorFile") != std::string::npos ||
           std::regex_search(head, std::regex(R"((^|\n)\s*createType\s*=)"));
}

void refuse_vmdk_descriptor(const std::string& text) {
    auto extents = extents_of(text);
    if (extents.empty())
        throw Error(400, "VMDK descriptor file without extents; import the VMDK data file itself, converted to "
                         "qcow2 or raw");
    throw Error(400, fmt::format("VMDK descriptor file refers to other files (first extent '{}'); a disk image that "
                                 "refers to other files is not imported (convert it to a single qcow2 or "
                                 "streamOptimized VMDK first)",
                                 printable(extents[0].file)));
}

std::uint64_t probe_vmdk(const DiskReader& disk) {
    auto b = disk.read(0, 512, "VMDK header");
    Header h = parse_header(b.data());
    if (h.capacity == 0 && h.desc_offset != 0)
        throw Error(400, "VMDK image has capacity 0 and a descriptor: qemu would open the files that descriptor "
                         "names; such images are not imported");
    if (h.gd_offset == gd_at_end) {
        // streamOptimized: the real header is in the footer, 1024 bytes
        // before the end, after its 4-byte magic.
        if (disk.file_size() < 1536) throw Error(400, "VMDK image is truncated: its footer is missing");
        auto f = disk.read(disk.file_size() - 1024, 512, "VMDK footer");
        if (std::memcmp(f.data(), "KDMV", 4) != 0) throw Error(400, "VMDK image has an invalid footer");
        h = parse_header(f.data());
        if (h.capacity == 0 && h.desc_offset != 0)
            throw Error(400, "VMDK footer has capacity 0 and a descriptor; such images are not imported");
    }
    if (h.version > 3) throw Error(400, fmt::format("VMDK version {} is not supported", h.version));
    if (h.num_gtes_per_gt == 0 || h.num_gtes_per_gt > 512 || h.granularity == 0 || h.granularity > 0x200000)
        throw Error(400, "VMDK grain table geometry is invalid: the image is corrupt");
    if (h.capacity > (~std::uint64_t(0) >> 9)) throw Error(400, "VMDK capacity is invalid: the image is corrupt");
    disk.check_virtual_size(h.capacity * 512);

    // The descriptor qemu reads for a parent is always at byte 512; the one
    // the header points to is checked as well.
    check_embedded_descriptor(until_nul(disk.read_some(512, desc_size_qemu_reads)));
    if (h.desc_offset != 0 && h.desc_size != 0) {
        if (h.desc_size > 2048 || h.desc_offset > disk.file_size() / 512)
            throw Error(400, "VMDK descriptor lies beyond the end of the file: the image is truncated or corrupt");
        check_embedded_descriptor(until_nul(disk.read(h.desc_offset * 512, h.desc_size * 512, "VMDK descriptor")));
    }

    std::uint64_t l1_entry_sectors = std::uint64_t(h.num_gtes_per_gt) * h.granularity;
    std::uint64_t l1_size = (h.capacity + l1_entry_sectors - 1) / l1_entry_sectors;
    if (l1_size > 32 * 1024 * 1024) throw Error(400, "VMDK grain directory is too large: the image is corrupt");
    if (h.grain_offset > disk.file_size() / 512)
        throw Error(400, "VMDK image is truncated: its grains start beyond the end of the file");
    if (h.gd_offset > disk.file_size() / 512) throw Error(400, "VMDK image is truncated: its grain directory lies beyond the end of the file");
    disk.require(h.gd_offset * 512, l1_size * 4, "VMDK grain directory");
    if (h.flags & flag_rgd) {
        if (h.rgd_offset > disk.file_size() / 512) throw Error(400, "VMDK image is truncated: its redundant grain directory lies beyond the end of the file");
        disk.require(h.rgd_offset * 512, l1_size * 4, "VMDK redundant grain directory");
    }
    return h.capacity * 512;
}

} // namespace lodge::vm::detail
