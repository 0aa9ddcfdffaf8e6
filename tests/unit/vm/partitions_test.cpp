// read_partitions on MBR (with logical partitions) and GPT disks made with
// sfdisk, hostile tables written by hand, and probe_filesystem on real
// filesystems placed at partition offsets.
#include "common/error.hpp"
#include "common/fd.hpp"
#include "images/vm/partitions.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/vm/disk_helpers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lodge::vm {
namespace {

using namespace test;

class VmPartitions : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have("sfdisk")) GTEST_SKIP() << "sfdisk is not installed";
        ASSERT_FALSE(dir.path().empty());
        disk = dir.path() + "/disk.img";
    }

    PartitionTable read(std::uint64_t size) {
        UniqueFd fd(open_read(disk));
        EXPECT_TRUE(fd);
        return read_partitions(fd.get(), size);
    }

    // sfdisk's own view of the table: partition node name → (start, size) in sectors.
    nlohmann::json sfdisk_json() { return nlohmann::json::parse(sh_output("sfdisk -J " + disk))["partitiontable"]; }

    TempDir dir{"lodge-vmparts"};
    std::string disk;
};

TEST_F(VmPartitions, ReadsMbrWithExtendedAndLogicalPartitions) {
    ASSERT_EQ(sh("truncate -s 64M " + disk + " && printf '%s\\n' 'label: dos' 'label-id: 0x1234abcd' "
                 "'start=2048, size=16M, type=83, bootable' 'size=40M, type=5' '" + disk + "5 : size=8M, type=82' '" +
                     disk + "6 : size=16M, type=8e' | sfdisk -q " + disk),
              0);
    auto table = read(64 << 20);
    EXPECT_EQ(table.type, "dos");
    EXPECT_EQ(table.id, "1234abcd");
    auto expected = sfdisk_json()["partitions"];
    ASSERT_EQ(table.partitions.size(), expected.size());
    std::vector<int> numbers;
    for (std::size_t i = 0; i < table.partitions.size(); ++i) {
        const auto& p = table.partitions[i];
        numbers.push_back(p.number);
        EXPECT_EQ(p.offset, expected[i]["start"].get<std::uint64_t>() * 512) << p.number;
        EXPECT_EQ(p.size, expected[i]["size"].get<std::uint64_t>() * 512) << p.number;
        EXPECT_EQ(p.uuid, fmt::format("1234abcd-{:02}", p.number));
    }
    EXPECT_EQ(numbers, (std::vector<int>{1, 2, 5, 6}));
    EXPECT_EQ(table.partitions[0].type, "0x83");
    EXPECT_EQ(table.partitions[0].role, PartitionRole::linux);
    EXPECT_EQ(table.partitions[1].role, PartitionRole::extended);
    EXPECT_EQ(table.partitions[2].role, PartitionRole::swap);
    EXPECT_TRUE(table.partitions[2].logical);
    EXPECT_EQ(table.partitions[3].role, PartitionRole::lvm);
}

TEST_F(VmPartitions, ReadsGptTypesNamesAndUuids) {
    ASSERT_EQ(sh("truncate -s 64M " + disk + " && printf '%s\\n' 'label: gpt' "
                 "'size=1M, type=21686148-6449-6E6F-744E-656564454649, name=bios' "
                 "'size=16M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI System\"' "
                 "'size=8M, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=swap' "
                 "'type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root' | sfdisk -q " + disk),
              0);
    auto table = read(64 << 20);
    EXPECT_EQ(table.type, "gpt");
    auto expected = sfdisk_json();
    std::string id = expected["id"].get<std::string>();
    for (auto& c : id) c = char(std::tolower(c));
    EXPECT_EQ(table.id, id);
    ASSERT_EQ(table.partitions.size(), 4u);
    std::vector<PartitionRole> roles = {PartitionRole::bios_boot, PartitionRole::efi_system, PartitionRole::swap,
                                        PartitionRole::linux};
    std::vector<std::string> names = {"bios", "EFI System", "swap", "root"};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto& p = table.partitions[i];
        const auto& e = expected["partitions"][i];
        EXPECT_EQ(p.number, int(i + 1));
        EXPECT_EQ(p.role, roles[i]);
        EXPECT_EQ(p.name, names[i]);
        EXPECT_EQ(p.offset, e["start"].get<std::uint64_t>() * 512);
        EXPECT_EQ(p.size, e["size"].get<std::uint64_t>() * 512);
        std::string uuid = e["uuid"].get<std::string>();
        for (auto& c : uuid) c = char(std::tolower(c));
        EXPECT_EQ(p.uuid, uuid);
    }
    EXPECT_EQ(table.partitions[3].type, "0fc63daf-8483-4772-8e79-3d69d8477de4");
}

TEST_F(VmPartitions, FilesystemOnTheWholeDiskHasNoTable) {
    ASSERT_EQ(sh("truncate -s 32M " + disk + " && mkfs.ext4 -q -L wholedisk " + disk), 0);
    auto table = read(32 << 20);
    EXPECT_EQ(table.type, "");
    EXPECT_TRUE(table.partitions.empty());
    UniqueFd fd(open_read(disk));
    auto fs = probe_filesystem(fd.get(), 0, 32 << 20);
    ASSERT_TRUE(fs);
    EXPECT_EQ(fs->type, "ext4");
    EXPECT_EQ(fs->label, "wholedisk");
    EXPECT_EQ(fs->uuid, sh_output("blkid -o value -s UUID " + disk).substr(0, 36));
}

TEST_F(VmPartitions, RefusesPartitionsOutsideTheDisk) {
    ASSERT_EQ(sh("truncate -s 64M " + disk + " && printf '%s\\n' 'start=2048, size=16M, type=83' "
                 "'size=32M, type=83' | sfdisk -q " + disk + " && truncate -s 24M " + disk),
              0);
    try {
        read(24 << 20);
        ADD_FAILURE() << "a partition past the end was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("partition 2"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos) << e.what();
    }
}

// An MBR entry: type and LBA start/size (CHS fields left zero).
std::string mbr_entry(unsigned char type, std::uint32_t start, std::uint32_t sectors) {
    std::string e(16, '\0');
    e[4] = char(type);
    return e.replace(8, 8, le32_bytes(start) + le32_bytes(sectors));
}

TEST_F(VmPartitions, RefusesOverlappingPartitions) {
    ASSERT_EQ(sh("truncate -s 64M " + disk), 0);
    write_at(disk, 440, le32_bytes(0xdeadbeef));
    write_at(disk, 446, mbr_entry(0x83, 2048, 40960) + mbr_entry(0x83, 30000, 20000));
    write_at(disk, 510, "\x55\xaa");
    try {
        read(64 << 20);
        ADD_FAILURE() << "overlapping partitions were accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("overlap"), std::string::npos) << e.what();
    }
}

TEST_F(VmPartitions, ProbesFilesystemsAtTheirOffsets) {
    // mkfs.xfs wants 300 MiB at least; the files stay sparse.
    ASSERT_EQ(sh("truncate -s 600M " + disk + " && printf '%s\\n' 'start=2048, size=32M, type=83' "
                 "'size=300M, type=83' 'size=140M, type=83' 'size=64M, type=ef' | sfdisk -q " + disk),
              0);
    auto table = read(600 << 20);
    ASSERT_EQ(table.partitions.size(), 4u);
    struct Fs {
        std::string type, mkfs;
    };
    std::vector<Fs> filesystems = {{"ext4", "mkfs.ext4 -q -L lbl"}, {"xfs", "mkfs.xfs -q -L lbl"},
                                   {"btrfs", "mkfs.btrfs -q -L lbl"}, {"vfat", "mkfs.vfat -n LBL"}};
    for (std::size_t i = 0; i < filesystems.size(); ++i) {
        const auto& p = table.partitions[i];
        std::string part = dir.path() + "/part" + std::to_string(i);
        std::string tool = filesystems[i].mkfs.substr(0, filesystems[i].mkfs.find(' '));
        if (!have(tool)) continue;
        ASSERT_EQ(sh(fmt::format("truncate -s {} {} && {} {} >/dev/null && dd if={} of={} bs=1M seek={} conv=notrunc,sparse "
                                 "status=none",
                                 p.size, part, filesystems[i].mkfs, part, part, disk, p.offset >> 20)),
                  0);
        UniqueFd fd(open_read(disk));
        auto fs = probe_filesystem(fd.get(), p.offset, p.size);
        ASSERT_TRUE(fs) << filesystems[i].type;
        EXPECT_EQ(fs->type, filesystems[i].type);
        EXPECT_TRUE(fs->label == "lbl" || fs->label == "LBL") << fs->label;
        EXPECT_FALSE(fs->uuid.empty());
    }
    UniqueFd fd(open_read(disk));
    EXPECT_FALSE(probe_filesystem(fd.get(), 540ULL << 20, 50ULL << 20)); // nothing there
    ASSERT_EQ(sh("truncate -s 8M " + dir.path() + "/swap && mkswap -q " + dir.path() + "/swap"), 0);
    UniqueFd swap(open_read(dir.path() + "/swap"));
    auto fs = probe_filesystem(swap.get(), 0, 8 << 20);
    ASSERT_TRUE(fs);
    EXPECT_EQ(fs->type, "swap");
}

} // namespace
} // namespace lodge::vm
