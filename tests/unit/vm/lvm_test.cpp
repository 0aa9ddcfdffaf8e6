// read_lvm and assemble_lv on a PV written by the lvm2 tools (on a loop
// device over a partition, without device-mapper), checked against lvs and
// pvs; and on PVs written byte by byte for the LV types we do not assemble
// and for hostile metadata.
#include "common/error.hpp"
#include "common/fd.hpp"
#include "images/vm/lvm.hpp"
#include "images/vm/partitions.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/vm/disk_helpers.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

namespace lodge::vm {
namespace {

using namespace test;

// A loop device over part of a file, detached when the test ends however it ends.
class Loop {
public:
    Loop(const std::string& file, std::uint64_t offset, std::uint64_t size) {
        dev_ = sh_output(fmt::format("losetup -f --show --offset {} --sizelimit {} {}", offset, size, file));
        while (!dev_.empty() && dev_.back() == '\n') dev_.pop_back();
    }
    ~Loop() {
        if (!dev_.empty()) sh("losetup -d " + dev_);
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    const std::string& dev() const { return dev_; }

    // An lvm command that sees this device only and needs no device-mapper.
    std::string lvm(const std::string& command) const {
        return fmt::format("LVM_SUPPRESS_FD_WARNINGS=1 lvm {} --driverloaded n --config 'devices {{ filter=[\"a|^{}$|\","
                           "\"r|.*|\"] obtain_device_list_from_udev=0 use_devicesfile=0 }} activation {{ udev_sync=0 "
                           "udev_rules=0 }} backup {{ backup=0 archive=0 }}' ",
                           command, dev_);
    }

private:
    std::string dev_;
};

std::vector<LogicalVolume> read(const std::string& disk, const std::vector<PvCandidate>& pvs) {
    UniqueFd fd(open_read(disk));
    return read_lvm(fd.get(), pvs);
}

const LogicalVolume* find(const std::vector<LogicalVolume>& lvs, const std::string& name) {
    for (const auto& lv : lvs)
        if (lv.name == name) return &lv;
    return nullptr;
}

TEST(VmLvm, ReadsAndAssemblesAnLvOfTwoSegmentsMadeByLvm2) {
    if (!have("lvm") || !have("losetup") || ::geteuid() != 0) GTEST_SKIP() << "needs root, lvm2 and losetup";
    TempDir dir("lodge-vmlvm");
    std::string disk = dir.path() + "/disk.img";
    const std::uint64_t part_offset = 1 << 20, part_size = 70 << 20;
    ASSERT_EQ(sh("truncate -s 80M " + disk + " && echo 'start=2048, size=70M, type=8e' | sfdisk -q " + disk), 0);
    std::string segments, pe_start;
    {
        Loop loop(disk, part_offset, part_size);
        ASSERT_FALSE(loop.dev().empty());
        ASSERT_EQ(sh(loop.lvm("pvcreate") + "-q -y " + loop.dev()), 0);
        ASSERT_EQ(sh(loop.lvm("vgcreate") + "-q -s 1M lodgevmtest " + loop.dev()), 0);
        ASSERT_EQ(sh(loop.lvm("lvcreate") + "-q -an -Zn -L 4M -n root lodgevmtest 2>/dev/null"), 0);
        ASSERT_EQ(sh(loop.lvm("lvcreate") + "-q -an -Zn -L 4M -n other lodgevmtest 2>/dev/null"), 0);
        ASSERT_EQ(sh(loop.lvm("lvextend") + "-q -L +4M lodgevmtest/root 2>/dev/null"), 0);
        segments = sh_output(loop.lvm("lvs") + "--segments --noheadings --nosuffix --units b -o "
                                               "lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges lodgevmtest 2>/dev/null");
        pe_start = sh_output(loop.lvm("pvs") + "--noheadings --nosuffix --units b -o pe_start " + loop.dev() +
                             " 2>/dev/null");
    }
    // blkid names the partition a PV, which is how a caller finds candidates.
    {
        UniqueFd fd(open_read(disk));
        auto fs = probe_filesystem(fd.get(), part_offset, part_size);
        ASSERT_TRUE(fs);
        EXPECT_EQ(fs->type, "LVM2_member");
        EXPECT_EQ(fs->version, "LVM2 001");
        EXPECT_EQ(fs->uuid.size(), 38u); // the PV UUID, with its dashes
    }
    auto lvs = read(disk, {{part_offset, part_size}});
    ASSERT_EQ(lvs.size(), 2u);
    const LogicalVolume* root = find(lvs, "root");
    const LogicalVolume* other = find(lvs, "other");
    ASSERT_TRUE(root && other);
    EXPECT_EQ(root->vg, "lodgevmtest");
    EXPECT_TRUE(root->supported) << root->unsupported_reason;
    EXPECT_TRUE(root->visible);
    EXPECT_EQ(root->size, 8u << 20);
    ASSERT_EQ(root->segments.size(), 2u);
    EXPECT_EQ(other->segments.size(), 1u);

    // Our offsets against lvs: "root 4 4 /dev/loopN:8-11" is the extent range.
    std::uint64_t data_start = part_offset + std::stoull(pe_start);
    std::istringstream lines(segments);
    std::string name, range;
    std::uint64_t start = 0, count = 0;
    int checked = 0;
    while (lines >> name >> start >> count >> range) {
        std::uint64_t first_pe = std::stoull(range.substr(range.find(':') + 1));
        const LogicalVolume* lv = find(lvs, name);
        ASSERT_TRUE(lv) << name;
        bool found = false;
        for (const auto& seg : lv->segments) {
            if (seg.start_extent != start) continue;
            found = true;
            EXPECT_EQ(seg.extent_count, count);
            EXPECT_EQ(seg.disk_offset, data_start + first_pe * (1 << 20)) << name << " " << range;
            EXPECT_EQ(seg.length, count << 20);
        }
        EXPECT_TRUE(found) << name << " segment at extent " << start;
        ++checked;
    }
    EXPECT_EQ(checked, 3);

    // A pattern at each segment's computed place comes back at its LV offset.
    for (const auto& lv : lvs)
        for (const auto& seg : lv.segments)
            write_at(disk, seg.disk_offset + 4096, fmt::format("{}@{}", lv.name, seg.lv_offset));
    std::string out = dir.path() + "/root.img";
    {
        UniqueFd in(open_read(disk));
        UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        ASSERT_TRUE(fd);
        assemble_lv(in.get(), *root, fd.get());
    }
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(std::uint64_t(st.st_size), root->size);
    EXPECT_LT(std::uint64_t(st.st_blocks) * 512, 1u << 20); // holes stayed holes
    EXPECT_EQ(read_at(out, 4096, 6), "root@0");
    EXPECT_EQ(read_at(out, (4 << 20) + 4096, 12), "root@4194304");
    EXPECT_EQ(sh("! grep -q other@ " + out), 0);
}

// LVM's CRC, written again here so the test does not trust the code's.
std::uint32_t crc(std::uint32_t c, const std::string& s) {
    for (unsigned char b : s) {
        c ^= b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c;
}

constexpr std::uint32_t initial = 0xf597a6cf;
constexpr std::uint64_t mda_offset = 4096, mda_size = (1 << 20) - 4096;

// A PV at `offset` of `file`: label in sector 1, one metadata area at 4 KiB
// holding `text`, data from 1 MiB.
// With text_at near the end of the area the text wraps around to just after
// the area's header, as LVM's circular buffer does after many updates.
void write_pv(const std::string& file, std::uint64_t offset, const std::string& uuid, std::uint64_t size,
              const std::string& text, std::uint64_t text_at = 512) {
    std::string label(512, '\0');
    label.replace(0, 8, "LABELONE");
    label.replace(8, 8, le64_bytes(1));
    label.replace(20, 4, le32_bytes(32));
    label.replace(24, 8, "LVM2 001");
    std::string header = uuid + le64_bytes(size) + le64_bytes(1 << 20) + le64_bytes(0) + le64_bytes(0) +
                         le64_bytes(0) + le64_bytes(mda_offset) + le64_bytes(mda_size) + le64_bytes(0) + le64_bytes(0);
    label.replace(32, header.size(), header);
    label.replace(16, 4, le32_bytes(crc(initial, label.substr(20))));
    write_at(file, offset + 512, label);

    std::string mda(512, '\0');
    mda.replace(4, 16, " LVM2 x[5A%r0N*>");
    mda.replace(20, 4, le32_bytes(1));
    mda.replace(24, 8, le64_bytes(mda_offset));
    mda.replace(32, 8, le64_bytes(mda_size));
    mda.replace(40, 24, le64_bytes(text_at) + le64_bytes(text.size()) + le32_bytes(crc(initial, text)) + le32_bytes(0));
    mda.replace(0, 4, le32_bytes(crc(initial, mda.substr(4))));
    write_at(file, offset + mda_offset, mda);
    std::uint64_t first = std::min<std::uint64_t>(text.size(), mda_size - text_at);
    write_at(file, offset + mda_offset + text_at, text.substr(0, first));
    if (first < text.size()) write_at(file, offset + mda_offset + 512, text.substr(first));
}

const std::string pv0_uuid = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

std::string linear(const std::string& name, std::uint64_t extents, std::uint64_t pe, const std::string& pv = "pv0",
                   const std::string& status = "\"READ\", \"WRITE\", \"VISIBLE\"") {
    return fmt::format("{} {{\nid = \"lv-{}\"\nstatus = [{}]\nflags = []\nsegment_count = 1\n\nsegment1 {{\n"
                       "start_extent = 0\nextent_count = {}\n\ntype = \"striped\"\nstripe_count = 1\t# linear\n\n"
                       "stripes = [\n\"{}\", {}\n]\n}}\n}}\n",
                       name, name, status, extents, pv, pe);
}

std::string segment_lv(const std::string& name, const std::string& body, const std::string& status = "\"VISIBLE\"") {
    return fmt::format("{} {{\nid = \"lv-{}\"\nstatus = [{}]\nsegment_count = 1\nsegment1 {{\nstart_extent = 0\n"
                       "extent_count = 2\n{}\n}}\n}}\n",
                       name, name, status, body);
}

std::string vg_text(const std::string& lvs, std::uint64_t pe_count = 60, int seqno = 7) {
    return fmt::format("# Generated by a test\n\nvg9 {{\nid = \"vg9-id\"\nseqno = {}\nformat = \"lvm2\"\n"
                       "status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nextent_size = 2048\n\nphysical_volumes {{\n\n"
                       "pv0 {{\nid = \"AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA\"\ndevice = \"/dev/sda2\"\n"
                       "status = [\"ALLOCATABLE\"]\ndev_size = 131072\npe_start = 2048\npe_count = {}\n}}\n\n"
                       "pv1 {{\nid = \"BBBBBB-BBBB-BBBB-BBBB-BBBB-BBBB-BBBBBB\"\ndevice = \"/dev/sdb\"\n"
                       "status = [\"ALLOCATABLE\"]\npe_start = 2048\npe_count = 60\n}}\n}}\n\n"
                       "logical_volumes {{\n{}\n}}\n}}\ncontents = \"Text Format Volume Group\"\nversion = 1\n"
                       "description = \"a \\\"quoted\\\" description\"\ncreation_time = 1700000000\n",
                       seqno, pe_count, lvs);
}

class VmLvmSynthetic : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_FALSE(dir.path().empty());
        ASSERT_EQ(sh("truncate -s 160M " + disk), 0);
    }
    TempDir dir{"lodge-vmlvm"};
    std::string disk = dir.path() + "/disk.img";
    static constexpr std::uint64_t pv_offset = 8 << 20, pv_size = 64 << 20;
};

TEST_F(VmLvmSynthetic, ListsWhatItCannotAssembleWithTheReason) {
    std::string lvs = linear("lin", 4, 0) + linear("snap", 2, 4) +
                      segment_lv("snapshot0", "type = \"snapshot\"\nchunk_size = 8\norigin = \"lin\"\ncow_store = \"snap\"",
                                 "\"READ\"") +
                      segment_lv("pool", "type = \"thin-pool\"\nmetadata = \"pool_tmeta\"\npool = \"pool_tdata\"") +
                      segment_lv("thin1", "type = \"thin\"\nthin_pool = \"pool\"\ndevice_id = 1") +
                      segment_lv("mirror", "type = \"raid1\"\ndevice_count = 2\nraids = [\"a\", \"b\", \"c\", \"d\"]") +
                      segment_lv("wide", "type = \"striped\"\nstripe_count = 2\nstripe_size = 128\nstripes = [\"pv0\", 10, "
                                         "\"pv1\", 0]") +
                      linear("elsewhere", 2, 0, "pv1") + linear("hidden", 2, 20, "pv0", "\"READ\", \"WRITE\"");
    write_pv(disk, pv_offset, pv0_uuid, pv_size, vg_text(lvs));
    auto all = read(disk, {{pv_offset, pv_size}});
    ASSERT_EQ(all.size(), 9u);
    auto reason = [&](const std::string& name) {
        const LogicalVolume* lv = find(all, name);
        EXPECT_TRUE(lv) << name;
        if (!lv) return std::string("missing");
        return lv->supported ? std::string("supported") : lv->unsupported_reason;
    };
    EXPECT_EQ(reason("lin"), "supported");
    EXPECT_NE(reason("snap").find("copy-on-write"), std::string::npos);
    EXPECT_NE(reason("snapshot0").find("snapshot"), std::string::npos);
    EXPECT_NE(reason("pool").find("thin pool"), std::string::npos);
    EXPECT_NE(reason("thin1").find("thin volume"), std::string::npos);
    EXPECT_NE(reason("mirror").find("RAID"), std::string::npos);
    EXPECT_NE(reason("wide").find("striped over 2"), std::string::npos);
    EXPECT_NE(reason("elsewhere").find("BBBBBB-BBBB-BBBB-BBBB-BBBB-BBBB-BBBBBB is missing"), std::string::npos);
    EXPECT_EQ(reason("hidden"), "supported");
    EXPECT_FALSE(find(all, "hidden")->visible);
    const LogicalVolume* lin = find(all, "lin");
    EXPECT_EQ(lin->size, 4u << 20);
    EXPECT_EQ(lin->segments[0].disk_offset, pv_offset + (1 << 20));
    EXPECT_EQ(find(all, "snap")->segments[0].disk_offset, 0u + pv_offset + (1 << 20) + (4 << 20));

    UniqueFd in(open_read(disk));
    UniqueFd out(::open((dir.path() + "/x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_THROW(assemble_lv(in.get(), *find(all, "thin1"), out.get()), Error);
}

TEST_F(VmLvmSynthetic, ReadsWrappedMetadataAndTakesTheNewestCopy) {
    // pv0 holds an old copy (seqno 7, LV "old"); the PV at 80 MiB (the VG's pv1)
    // holds the newest (seqno 8, LV "new"), wrapped around its area's end.
    write_pv(disk, pv_offset, pv0_uuid, pv_size, vg_text(linear("old", 2, 0), 60, 7));
    std::string newest = vg_text(linear("new", 3, 5), 60, 8);
    write_pv(disk, 80 << 20, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", pv_size, newest, mda_size - 100);
    auto lvs = read(disk, {{80 << 20, pv_size}, {pv_offset, pv_size}});
    ASSERT_EQ(lvs.size(), 1u);
    EXPECT_EQ(lvs[0].name, "new");
    EXPECT_TRUE(lvs[0].supported) << lvs[0].unsupported_reason;
    EXPECT_EQ(lvs[0].segments[0].disk_offset, pv_offset + (1 << 20) + (5 << 20));
}

TEST_F(VmLvmSynthetic, RefusesExtentsOutsideThePv) {
    // The metadata claims more extents than the partition holds.
    write_pv(disk, pv_offset, pv0_uuid, pv_size, vg_text(linear("lin", 4, 0), 100));
    try {
        read(disk, {{pv_offset, pv_size}});
        ADD_FAILURE() << "accepted extents past the PV";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("run past the end"), std::string::npos) << e.what();
    }
    // An LV on extents past the PV's extent count.
    write_pv(disk, pv_offset, pv0_uuid, pv_size, vg_text(linear("lin", 4, 58)));
    EXPECT_THROW(read(disk, {{pv_offset, pv_size}}), Error);
}

TEST_F(VmLvmSynthetic, SkipsMetadataWithABadChecksumAndRefusesBadSyntax) {
    std::string text = vg_text(linear("lin", 4, 0));
    write_pv(disk, pv_offset, pv0_uuid, pv_size, text);
    EXPECT_EQ(read(disk, {{pv_offset, pv_size}}).size(), 1u);
    write_at(disk, pv_offset + mda_offset + 512 + 10, "X"); // the text changes, its checksum does not
    EXPECT_TRUE(read(disk, {{pv_offset, pv_size}}).empty());

    write_pv(disk, pv_offset, pv0_uuid, pv_size, "vg9 {\nid = \"x\"\nseqno = 1\nlogical_volumes { a { b = [ \n");
    EXPECT_THROW(read(disk, {{pv_offset, pv_size}}), Error);
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "s" + std::to_string(i) + " {\n";
    write_pv(disk, pv_offset, pv0_uuid, pv_size, deep);
    EXPECT_THROW(read(disk, {{pv_offset, pv_size}}), Error);
    // No label at all: not a PV, nothing listed.
    EXPECT_TRUE(read(disk, {{0, 4 << 20}}).empty());
}

} // namespace
} // namespace lodge::vm
