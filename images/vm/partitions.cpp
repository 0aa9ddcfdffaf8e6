// read_partitions and probe_filesystem with libblkid on an fd; the checks
// that keep every partition inside the disk and apart from the others.
#include "images/vm/partitions.hpp"

#include "common/error.hpp"

#include <blkid/blkid.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace lodge::vm {

namespace {

using Probe = std::unique_ptr<blkid_struct_probe, void (*)(blkid_probe)>;

Probe new_probe(int fd, std::uint64_t offset, std::uint64_t size) {
    Probe probe(blkid_new_probe(), blkid_free_probe);
    if (!probe) throw Error(500, "blkid_new_probe failed");
    if (blkid_probe_set_device(probe.get(), fd, blkid_loff_t(offset), blkid_loff_t(size)) != 0)
        throw Error(500, fmt::format("blkid cannot read the disk at offset {}", offset));
    blkid_probe_set_sectorsize(probe.get(), 512);
    return probe;
}

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

PartitionRole role_of_gpt(const std::string& type) {
    if (type == "c12a7328-f81f-11d2-ba4b-00a0c93ec93b") return PartitionRole::efi_system;
    if (type == "21686148-6449-6e6f-744e-656564454649") return PartitionRole::bios_boot;
    if (type == "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f") return PartitionRole::swap;
    if (type == "e6d6d379-f507-44c2-a23c-238f2a3df928") return PartitionRole::lvm;
    static const char* linux_types[] = {
        "0fc63daf-8483-4772-8e79-3d69d8477de4", // Linux filesystem data
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", // root (x86-64)
        "44479540-f297-41b2-9af7-d131d5f0458a", // root (x86)
        "b921b045-1df0-41c3-af44-4c6f280d3fae", // root (arm64)
        "69dad710-2ce4-4e3c-b16c-21a1d49abed3", // root (arm)
        "72ec70a6-cf74-40e6-bd49-4bda08e8f224", // root (riscv64)
        "8484680c-9521-48c6-9c11-b0720656f69e", // /usr (x86-64)
        "b0e01050-ee5f-4390-949a-9101b17104e9", // /usr (arm64)
        "933ac7e1-2eb4-4f13-b844-0e14e2aef915", // /home
        "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", // /srv
        "4d21b016-b534-45c2-a9fb-5c16e091fd2d", // /var
        "7ec6f557-3bc5-4aca-b293-16ef5df639d1", // /var/tmp
        "bc13c2ff-59e6-4262-a352-b275fd6f7172", // /boot (XBOOTLDR)
    };
    for (const char* t : linux_types)
        if (type == t) return PartitionRole::linux;
    return PartitionRole::other;
}

PartitionRole role_of_mbr(int type) {
    switch (type) {
    case 0x83: return PartitionRole::linux;
    case 0xef: return PartitionRole::efi_system;
    case 0x82: return PartitionRole::swap;
    case 0x8e: return PartitionRole::lvm;
    case 0x05:
    case 0x0f:
    case 0x85: return PartitionRole::extended;
    default: return PartitionRole::other;
    }
}

bool overlap(const Partition& a, const Partition& b) {
    return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

void check_layout(const std::vector<Partition>& parts, std::uint64_t disk_size) {
    for (const auto& p : parts) {
        if (p.size == 0 || p.offset > disk_size || p.size > disk_size - p.offset)
            throw Error(400, fmt::format("partition {} (bytes {}+{}) lies outside the {}-byte disk", p.number, p.offset,
                                         p.size, disk_size));
    }
    const Partition* extended = nullptr;
    for (const auto& p : parts)
        if (p.role == PartitionRole::extended && !p.logical) extended = &p;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto& a = parts[i];
        if (a.logical && (!extended || a.offset < extended->offset ||
                          a.offset + a.size > extended->offset + extended->size))
            throw Error(400, fmt::format("logical partition {} lies outside the extended partition", a.number));
        for (std::size_t j = i + 1; j < parts.size(); ++j) {
            const auto& b = parts[j];
            // A logical partition lies inside the extended one by design.
            if ((a.logical && &b == extended) || (b.logical && &a == extended)) continue;
            if (overlap(a, b))
                throw Error(400, fmt::format("partitions {} and {} overlap; the partition table is corrupt", a.number,
                                             b.number));
        }
    }
}

} // namespace

const char* role_name(PartitionRole role) {
    switch (role) {
    case PartitionRole::linux: return "linux";
    case PartitionRole::efi_system: return "efi-system";
    case PartitionRole::bios_boot: return "bios-boot";
    case PartitionRole::swap: return "swap";
    case PartitionRole::lvm: return "lvm";
    case PartitionRole::extended: return "extended";
    case PartitionRole::other: return "other";
    }
    return "other";
}

PartitionTable read_partitions(int fd, std::uint64_t disk_size) {
    Probe probe = new_probe(fd, 0, disk_size);
    blkid_probe_enable_superblocks(probe.get(), 0);
    blkid_probe_enable_partitions(probe.get(), 1);
    PartitionTable table;
    blkid_partlist list = blkid_probe_get_partitions(probe.get());
    blkid_parttable root = list ? blkid_partlist_get_table(list) : nullptr;
    if (!root) return table; // no table: the caller probes the whole disk
    table.type = blkid_parttable_get_type(root) ? blkid_parttable_get_type(root) : "";
    table.id = blkid_parttable_get_id(root) ? blkid_parttable_get_id(root) : "";
    bool gpt = table.type == "gpt";
    int count = blkid_partlist_numof_partitions(list);
    if (count < 0) throw Error(400, "the partition table cannot be read");
    for (int i = 0; i < count; ++i) {
        blkid_partition par = blkid_partlist_get_partition(list, i);
        // Tables nested in a partition (BSD labels …) are not the guest's.
        if (!par || (blkid_partition_get_table(par) != root && !blkid_partition_is_logical(par))) continue;
        Partition p;
        p.number = blkid_partition_get_partno(par);
        blkid_loff_t start = blkid_partition_get_start(par), size = blkid_partition_get_size(par);
        if (start < 0 || size < 0 || std::uint64_t(start) > (~std::uint64_t(0) >> 9) ||
            std::uint64_t(size) > (~std::uint64_t(0) >> 9))
            throw Error(400, fmt::format("partition {} has an impossible position", p.number));
        p.offset = std::uint64_t(start) * 512;
        p.size = std::uint64_t(size) * 512;
        p.logical = blkid_partition_is_logical(par);
        if (gpt) {
            const char* type = blkid_partition_get_type_string(par);
            p.type = type ? lower(type) : "";
            p.role = role_of_gpt(p.type);
            const char* name = blkid_partition_get_name(par);
            p.name = name ? name : "";
        } else {
            int type = blkid_partition_get_type(par);
            p.type = fmt::format("0x{:x}", type);
            p.role = blkid_partition_is_extended(par) ? PartitionRole::extended : role_of_mbr(type);
        }
        const char* uuid = blkid_partition_get_uuid(par);
        p.uuid = uuid ? uuid : "";
        table.partitions.push_back(std::move(p));
    }
    check_layout(table.partitions, disk_size);
    return table;
}

std::optional<FilesystemProbe> probe_filesystem(int fd, std::uint64_t offset, std::uint64_t size) {
    Probe probe = new_probe(fd, offset, size);
    blkid_probe_enable_partitions(probe.get(), 0);
    blkid_probe_enable_superblocks(probe.get(), 1);
    blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL |
                                                       BLKID_SUBLKS_VERSION);
    if (blkid_do_safeprobe(probe.get()) != 0) return std::nullopt;
    auto value = [&](const char* name) {
        const char* v = nullptr;
        return blkid_probe_lookup_value(probe.get(), name, &v, nullptr) == 0 && v ? std::string(v) : std::string();
    };
    FilesystemProbe fs{value("TYPE"), value("UUID"), value("LABEL"), value("VERSION")};
    if (fs.type.empty()) return std::nullopt;
    return fs;
}

} // namespace lodge::vm
