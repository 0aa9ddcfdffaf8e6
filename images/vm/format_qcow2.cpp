// The qcow2 checks of probe_disk: header, features, header extensions and
// the tables qemu reads first, following the layout in qemu's
// docs/interop/qcow2.txt. Anything that makes qemu open another file
// (backing file, external data file) is refused here.
#include "images/vm/detail/disk_reader.hpp"

#include <fmt/format.h>

namespace lodge::vm::detail {

namespace {

constexpr std::uint64_t incompat_dirty = 1 << 0;
constexpr std::uint64_t incompat_corrupt = 1 << 1;
constexpr std::uint64_t incompat_data_file = 1 << 2;
constexpr std::uint64_t incompat_compression = 1 << 3;
constexpr std::uint64_t incompat_extended_l2 = 1 << 4;
constexpr std::uint64_t autoclear_raw_data_file = 1 << 1;

constexpr std::uint32_t ext_end = 0;
constexpr std::uint32_t ext_data_file = 0x44415441;
constexpr std::uint32_t ext_crypto = 0x0537be77;

// qemu's own caps (QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE).
constexpr std::uint64_t max_l1_bytes = 32u << 20;
constexpr std::uint64_t max_reftable_bytes = 8u << 20;

struct Header {
    std::uint32_t version, cluster_bits, crypt_method, l1_size, refcount_table_clusters, nb_snapshots;
    std::uint64_t backing_file_offset, size, l1_table_offset, refcount_table_offset, snapshots_offset;
    std::uint32_t backing_file_size;
    std::uint64_t incompatible = 0, autoclear = 0;
    std::uint32_t header_length = 72;
};

Header parse_header(const DiskReader& disk) {
    auto b = disk.read(0, 104, "qcow2 header");
    const unsigned char* p = b.data();
    Header h{};
    h.version = be32(p + 4);
    h.backing_file_offset = be64(p + 8);
    h.backing_file_size = be32(p + 16);
    h.cluster_bits = be32(p + 20);
    h.size = be64(p + 24);
    h.crypt_method = be32(p + 32);
    h.l1_size = be32(p + 36);
    h.l1_table_offset = be64(p + 40);
    h.refcount_table_offset = be64(p + 48);
    h.refcount_table_clusters = be32(p + 56);
    h.nb_snapshots = be32(p + 60);
    h.snapshots_offset = be64(p + 64);
    if (h.version == 3) {
        h.incompatible = be64(p + 72);
        h.autoclear = be64(p + 88);
        h.header_length = be32(p + 100);
    }
    return h;
}

void refuse_backing(const DiskReader& disk, const Header& h) {
    std::string name;
    if (h.backing_file_size <= 1023 && disk.inside(h.backing_file_offset, h.backing_file_size)) {
        auto b = disk.read(h.backing_file_offset, h.backing_file_size, "qcow2 backing file name");
        name.assign(b.begin(), b.end());
    }
    std::string what = name.rfind("json:", 0) == 0 ? "a backing file given in json: syntax" : "a backing file";
    throw Error(400, fmt::format("qcow2 image has {} '{}'; a disk image that refers to another file is not imported "
                                 "(flatten it first: qemu-img convert -O qcow2 on the machine that has the backing "
                                 "file)",
                                 what, printable(name)));
}

void check_features(const Header& h) {
    if (h.incompatible & incompat_data_file || h.autoclear & autoclear_raw_data_file)
        throw Error(400, "qcow2 image keeps its data in an external data file (incompatible feature 'external data "
                         "file'); such images are not imported");
    if (h.incompatible & incompat_corrupt)
        throw Error(400, "qcow2 image is marked corrupt; repair it with qemu-img check -r all first");
    std::uint64_t known = incompat_dirty | incompat_corrupt | incompat_data_file | incompat_compression |
                          incompat_extended_l2;
    if (h.incompatible & ~known)
        throw Error(400, fmt::format("qcow2 image uses unknown incompatible features (0x{:x})", h.incompatible & ~known));
    if (h.crypt_method != 0)
        throw Error(400, fmt::format("qcow2 image is encrypted ({}); decrypt it with qemu-img convert first",
                                     h.crypt_method == 1 ? "AES" : h.crypt_method == 2 ? "LUKS" : "unknown method"));
}

// Header extensions run from the end of the header to the end of the first
// cluster, each padded to 8 bytes, until an end marker.
void check_extensions(const DiskReader& disk, const Header& h, std::uint64_t cluster_size) {
    std::uint64_t offset = h.header_length;
    std::uint64_t end = std::min(cluster_size, disk.file_size());
    while (offset + 8 <= end) {
        auto b = disk.read(offset, 8, "qcow2 header extension");
        std::uint32_t type = be32(b.data()), length = be32(b.data() + 4);
        if (type == ext_end) return;
        if (length > end - offset - 8)
            throw Error(400, "qcow2 header extension runs past the image's first cluster: the image is corrupt");
        if (type == ext_data_file) {
            auto name = disk.read(offset + 8, std::min<std::uint64_t>(length, 1023), "qcow2 data file name");
            throw Error(400, fmt::format("qcow2 image names an external data file '{}'; such images are not imported",
                                         printable(std::string(name.begin(), name.end()))));
        }
        if (type == ext_crypto) throw Error(400, "qcow2 image is encrypted (LUKS); decrypt it with qemu-img convert first");
        offset += 8 + ((std::uint64_t(length) + 7) & ~std::uint64_t(7));
    }
}

// The L1 table, the L2 tables it points to and the refcount table must lie
// in the file: a truncated image is refused here rather than read as zeroes.
void check_tables(const DiskReader& disk, const Header& h, std::uint64_t cluster_size) {
    std::uint64_t l1_bytes = std::uint64_t(h.l1_size) * 8;
    if (l1_bytes > max_l1_bytes) throw Error(400, "qcow2 L1 table is larger than qemu reads: the image is corrupt");
    // Each L2 table maps cluster_size/8 (or /16 with extended L2) clusters.
    std::uint64_t l2_entries = cluster_size / ((h.incompatible & incompat_extended_l2) ? 16 : 8);
    std::uint64_t per_l1 = l2_entries * cluster_size;
    if (h.size / per_l1 + (h.size % per_l1 != 0) > h.l1_size)
        throw Error(400, "qcow2 L1 table is too small for the virtual size: the image is corrupt");
    if (h.l1_table_offset % cluster_size != 0) throw Error(400, "qcow2 L1 table is not cluster aligned: the image is corrupt");
    auto l1 = disk.read(h.l1_table_offset, l1_bytes, "qcow2 L1 table");
    // And every data cluster the L2 tables map: an image cut short after
    // its tables would otherwise convert, its missing clusters read as
    // zeroes, into a disk whose filesystems are silently damaged.
    const std::size_t l2_entry_bytes = (h.incompatible & incompat_extended_l2) ? 16 : 8;
    const unsigned compressed_bits = 62 - (h.cluster_bits - 8);
    for (std::uint32_t i = 0; i < h.l1_size; ++i) {
        std::uint64_t l2 = be64(l1.data() + 8 * std::size_t(i)) & 0x00fffffffffffe00ULL;
        if (l2 == 0) continue;
        auto table = disk.read(l2, cluster_size, fmt::format("qcow2 L2 table {}", i));
        for (std::size_t e = 0; e + l2_entry_bytes <= table.size(); e += l2_entry_bytes) {
            const std::uint64_t entry = be64(table.data() + e);
            if (entry & (1ULL << 62)) { // compressed: the offset in the low bits
                const std::uint64_t offset = entry & ((1ULL << compressed_bits) - 1);
                disk.require(offset, 1, fmt::format("qcow2 compressed cluster of L2 table {}", i));
            } else if (std::uint64_t offset = entry & 0x00fffffffffffe00ULL; offset != 0) {
                disk.require(offset, cluster_size, fmt::format("qcow2 data cluster of L2 table {}", i));
            }
        }
    }
    std::uint64_t reftable = std::uint64_t(h.refcount_table_clusters) * cluster_size;
    if (reftable > max_reftable_bytes) throw Error(400, "qcow2 refcount table is larger than qemu reads: the image is corrupt");
    disk.require(h.refcount_table_offset, reftable, "qcow2 refcount table");
    if (h.nb_snapshots > 65536) throw Error(400, "qcow2 image claims too many snapshots: the image is corrupt");
    if (h.nb_snapshots > 0) disk.require(h.snapshots_offset, 40ULL * h.nb_snapshots, "qcow2 snapshot table");
}

} // namespace

std::uint64_t probe_qcow2(const DiskReader& disk) {
    Header h = parse_header(disk);
    if (h.version != 2 && h.version != 3)
        throw Error(400, fmt::format("qcow2 version {} is not supported (only versions 2 and 3)", h.version));
    if (h.cluster_bits < 9 || h.cluster_bits > 21)
        throw Error(400, fmt::format("qcow2 cluster size 2^{} is invalid: the image is corrupt", h.cluster_bits));
    std::uint64_t cluster_size = std::uint64_t(1) << h.cluster_bits;
    if (h.header_length < (h.version == 3 ? 104u : 72u) || h.header_length > cluster_size || h.header_length % 8 != 0)
        throw Error(400, "qcow2 header length is invalid: the image is corrupt");
    if (h.backing_file_offset != 0) refuse_backing(disk, h);
    check_features(h);
    check_extensions(disk, h, cluster_size);
    disk.check_virtual_size(h.size);
    check_tables(disk, h, cluster_size);
    return h.size;
}

} // namespace lodge::vm::detail
