// probe_disk on real images made by qemu-img and on hostile ones patched by
// hand: formats and sizes, and every reference to another file refused
// without that file ever being opened.
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "images/vm/format.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/vm/disk_helpers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace lodge::vm {
namespace {

using namespace test;

constexpr std::uint64_t TiB = 1ULL << 40;

class VmFormat : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
        ASSERT_FALSE(dir.path().empty());
        canary = dir.path() + "/canary.raw";
        ASSERT_EQ(sh("qemu-img create -q -f raw " + canary + " 64M"), 0);
    }

    std::string path(const std::string& name) const { return dir.path() + "/" + name; }

    DiskInfo probe(const std::string& file, std::uint64_t max = 4 * TiB) {
        UniqueFd fd(open_read(file));
        EXPECT_TRUE(fd);
        return probe_disk(fd.get(), max);
    }

    // probe_disk's refusal of file (which must be Error 400), or "accepted".
    std::string refusal(const std::string& file, std::uint64_t max = 4 * TiB) {
        try {
            probe(file, max);
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400) << e.what();
            return e.what();
        }
        return "accepted";
    }

    TempDir dir{"lodge-vmformat"};
    std::string canary;
};

TEST_F(VmFormat, ReadsEachFormatsVirtualSize) {
    for (const char* format : {"qcow2", "vmdk", "vdi", "vhdx"}) {
        std::string file = path(std::string("disk.") + format);
        ASSERT_EQ(sh(fmt::format("qemu-img create -q -f {} {} 96M", format, file)), 0);
        DiskInfo info = probe(file);
        EXPECT_STREQ(format_name(info.format), format);
        EXPECT_EQ(info.virtual_size, 96ULL << 20) << format;
        struct stat st {};
        ::stat(file.c_str(), &st);
        EXPECT_EQ(info.file_size, std::uint64_t(st.st_size));
    }
}

TEST_F(VmFormat, ReadsQcow2WithDataAndStreamOptimizedVmdk) {
    std::string raw = path("data.raw");
    ASSERT_EQ(sh("head -c 3M /dev/urandom > " + raw + " && truncate -s 40M " + raw), 0);
    ASSERT_EQ(sh("qemu-img convert -O qcow2 " + raw + " " + path("d.qcow2")), 0);
    ASSERT_EQ(sh("qemu-img convert -O vmdk -o subformat=streamOptimized " + raw + " " + path("s.vmdk")), 0);
    ASSERT_EQ(sh("qemu-img convert -O vmdk -o subformat=monolithicSparse " + raw + " " + path("m.vmdk")), 0);
    EXPECT_EQ(probe(path("d.qcow2")).virtual_size, 40ULL << 20);
    EXPECT_EQ(probe(path("s.vmdk")).virtual_size, 40ULL << 20);
    EXPECT_EQ(probe(path("m.vmdk")).format, DiskFormat::vmdk);
}

TEST_F(VmFormat, TakesRawOnlyWithATableOrFilesystem) {
    std::string mbr = path("mbr.img"), gpt = path("gpt.img"), fs = path("fs.img"), junk = path("junk.img");
    ASSERT_EQ(sh("truncate -s 32M " + mbr + " && echo 'type=83' | sfdisk -q " + mbr), 0);
    ASSERT_EQ(sh("truncate -s 32M " + gpt + " && echo 'type=linux' | sfdisk -q -X gpt " + gpt), 0);
    ASSERT_EQ(sh("truncate -s 32M " + fs + " && mkfs.ext4 -q " + fs), 0);
    ASSERT_EQ(sh("head -c 1M /dev/urandom > " + junk), 0);
    for (const auto& file : {mbr, gpt, fs}) {
        DiskInfo info = probe(file);
        EXPECT_EQ(info.format, DiskFormat::raw) << file;
        EXPECT_EQ(info.virtual_size, 32ULL << 20);
    }
    EXPECT_NE(refusal(junk).find("unknown disk format"), std::string::npos);
    ASSERT_EQ(sh("truncate -s 1M " + path("zero.img")), 0);
    EXPECT_NE(refusal(path("zero.img")).find("unknown disk format"), std::string::npos);
}

TEST_F(VmFormat, RefusesAVirtualSizeAboveTheLimit) {
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + path("big.qcow2") + " 16T"), 0);
    EXPECT_EQ(refusal(path("big.qcow2"), 2 * TiB), "virtual size 16.0 TiB is above the limit of 2.0 TiB");
    EXPECT_EQ(probe(path("big.qcow2"), 16 * TiB).virtual_size, 16 * TiB);
}

TEST_F(VmFormat, RefusesQcow2BackingFilesWithoutOpeningThem) {
    std::string child = path("child.qcow2"), json_child = path("json.qcow2");
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 -b " + canary + " -F raw " + child), 0);
    ASSERT_EQ(sh("qemu-img create -q -u -f qcow2 -b 'json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\","
                 "\"filename\":\"" + canary + "\"}}' -F raw " + json_child + " 64M"),
              0);
    OpenWatch watch(canary);
    ASSERT_TRUE(watch.valid());
    std::string plain = refusal(child), json = refusal(json_child);
    EXPECT_NE(plain.find("backing file '" + canary + "'"), std::string::npos) << plain;
    EXPECT_NE(json.find("json: syntax"), std::string::npos) << json;
    EXPECT_NE(json.find(canary), std::string::npos) << json;
    EXPECT_FALSE(watch.opened());
}

TEST_F(VmFormat, RefusesQcow2ExternalDataFiles) {
    std::string data = path("data.raw"), img = path("ext.qcow2");
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o data_file=" + data + ",data_file_raw=on " + img + " 64M"), 0);
    OpenWatch watch(data);
    EXPECT_NE(refusal(img).find("external data file"), std::string::npos);
    // Without the feature bit the header extension alone still names it.
    std::string header = read_at(img, 72, 8);
    header[7] = char(header[7] & ~0x04);
    write_at(img, 72, header);
    std::string autoclear = read_at(img, 88, 8);
    autoclear[7] = char(autoclear[7] & ~0x02);
    write_at(img, 88, autoclear);
    std::string message = refusal(img);
    EXPECT_NE(message.find("external data file '" + data + "'"), std::string::npos) << message;
    EXPECT_FALSE(watch.opened());
}

TEST_F(VmFormat, RefusesEncryptedAndCorruptQcow2) {
    // qemu-img's LUKS creation times PBKDF2 by CPU time and fails now and
    // then on a busy machine, so the encryption method is set by hand.
    std::string luks = path("luks.qcow2"), v4 = path("v4.qcow2");
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + luks + " 16M"), 0);
    write_at(luks, 32, std::string("\0\0\0\2", 4));
    EXPECT_NE(refusal(luks).find("encrypted (LUKS)"), std::string::npos);
    write_at(luks, 32, std::string("\0\0\0\1", 4));
    EXPECT_NE(refusal(luks).find("encrypted (AES)"), std::string::npos);
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + v4 + " 16M"), 0);
    write_at(v4, 4, std::string("\0\0\0\4", 4));
    EXPECT_NE(refusal(v4).find("qcow2 version 4"), std::string::npos);
    write_at(v4, 4, std::string("\0\0\0\3", 4));
    write_at(v4, 72, std::string("\0\0\0\0\0\0\0\x02", 8)); // corrupt bit
    EXPECT_NE(refusal(v4).find("marked corrupt"), std::string::npos);
}

TEST_F(VmFormat, RefusesTruncatedImages) {
    std::string raw = path("data.raw");
    ASSERT_EQ(sh("head -c 4M /dev/urandom > " + raw), 0);
    ASSERT_EQ(sh("qemu-img convert -O qcow2 " + raw + " " + path("t.qcow2") + " && truncate -s 128K " + path("t.qcow2")), 0);
    EXPECT_NE(refusal(path("t.qcow2")).find("truncated"), std::string::npos);
    // Cut short after its tables: the data clusters the L2 table maps are
    // missing, and qemu-img would read them as zeroes.
    ASSERT_EQ(sh("qemu-img convert -O qcow2 " + raw + " " + path("d.qcow2") + " && truncate -s 1M " + path("d.qcow2")), 0);
    std::string data = refusal(path("d.qcow2"));
    EXPECT_NE(data.find("truncated"), std::string::npos) << data;
    EXPECT_NE(data.find("data cluster"), std::string::npos) << data;
    // The L1 table moved past the end of the file by its offset alone.
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + path("l1.qcow2") + " 64M"), 0);
    write_at(path("l1.qcow2"), 40, std::string("\0\0\0\0\x10\0\0\0", 8));
    std::string l1 = refusal(path("l1.qcow2"));
    EXPECT_NE(l1.find("L1 table"), std::string::npos) << l1;
    ASSERT_EQ(sh("qemu-img create -q -f vmdk " + path("t.vmdk") + " 64M && truncate -s 4K " + path("t.vmdk")), 0);
    EXPECT_NE(refusal(path("t.vmdk")).find("truncated"), std::string::npos);
    ASSERT_EQ(sh("qemu-img create -q -f vdi " + path("t.vdi") + " 64M && truncate -s 512 " + path("t.vdi")), 0);
    EXPECT_NE(refusal(path("t.vdi")).find("truncated"), std::string::npos);
    ASSERT_EQ(sh("qemu-img create -q -f vhdx " + path("t.vhdx") + " 64M && truncate -s 200K " + path("t.vhdx")), 0);
    EXPECT_NE(refusal(path("t.vhdx")).find("truncated"), std::string::npos);
}

TEST_F(VmFormat, RefusesVmdkDescriptorsNamingTheFirstExtent) {
    std::string desc = path("flat.vmdk");
    ASSERT_EQ(sh("qemu-img create -q -f vmdk -o subformat=monolithicFlat " + desc + " 16M"), 0);
    OpenWatch watch(path("flat-flat.vmdk"));
    std::string message = refusal(desc);
    EXPECT_NE(message.find("VMDK descriptor file"), std::string::npos) << message;
    EXPECT_NE(message.find("'flat-flat.vmdk'"), std::string::npos) << message;
    // A hand-written descriptor pointing at any host file.
    write_file_atomic(path("evil.vmdk"), "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 131072 FLAT \"" +
                                      canary + "\" 0\n");
    OpenWatch canary_watch(canary);
    EXPECT_NE(refusal(path("evil.vmdk")).find(canary), std::string::npos);
    EXPECT_FALSE(watch.opened());
    EXPECT_FALSE(canary_watch.opened());
}

TEST_F(VmFormat, RefusesSparseVmdkThatLeadsQemuToOtherFiles) {
    std::string base = path("base.vmdk"), child = path("child.vmdk");
    ASSERT_EQ(sh("qemu-img create -q -f vmdk " + base + " 16M && qemu-img create -q -f vmdk -b " + base +
                 " -F vmdk " + child),
              0);
    OpenWatch base_watch(base), canary_watch(canary);
    EXPECT_NE(refusal(child).find("parentFileNameHint"), std::string::npos);

    // Capacity 0 with a descriptor: qemu opens that descriptor's extents.
    std::string zero = path("zero.vmdk");
    ASSERT_EQ(sh("qemu-img create -q -f vmdk " + zero + " 16M"), 0);
    write_at(zero, 12, le64_bytes(0));
    write_at(zero, 512, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 32768 FLAT \"" + canary +
                            "\" 0\n" + std::string(64, '\0'));
    EXPECT_NE(refusal(zero).find("capacity 0"), std::string::npos);

    // An embedded descriptor naming a flat extent elsewhere.
    std::string other = path("other.vmdk");
    ASSERT_EQ(sh("qemu-img create -q -f vmdk " + other + " 16M"), 0);
    write_at(other, 512, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\nRW 32768 SPARSE "
                         "\"other.vmdk\"\nRW 32768 FLAT \"" + canary + "\" 0\n" + std::string(64, '\0'));
    std::string message = refusal(other);
    EXPECT_NE(message.find(canary), std::string::npos) << message;
    EXPECT_FALSE(base_watch.opened());
    EXPECT_FALSE(canary_watch.opened());
}

TEST_F(VmFormat, RefusesDifferencingVdiAndVhdx) {
    std::string vdi = path("diff.vdi");
    ASSERT_EQ(sh("qemu-img create -q -f vdi " + vdi + " 16M"), 0);
    write_at(vdi, 0x1b8, std::string(16, '\x42')); // parent UUID
    EXPECT_NE(refusal(vdi).find("differencing"), std::string::npos);
    write_at(vdi, 0x1b8, std::string(16, '\0'));
    write_at(vdi, 0x4c, le32_bytes(4)); // VDI_TYPE_DIFF
    EXPECT_NE(refusal(vdi).find("differencing"), std::string::npos);

    std::string vhdx = path("diff.vhdx");
    ASSERT_EQ(sh("qemu-img create -q -f vhdx " + vhdx + " 16M"), 0);
    ASSERT_EQ(probe(vhdx).format, DiskFormat::vhdx);
    // Find the metadata region, then the file parameters item, and set its
    // has-parent flag.
    std::string regions = read_at(vhdx, 192 * 1024, 4096);
    const std::string metadata_guid("\x06\xa2\x7c\x8b\x90\x47\x9a\x4b\xb8\xfe\x57\x5f\x05\x0f\x88\x6e", 16);
    const std::string params_guid("\x37\x67\xa1\xca\x36\xfa\x43\x4d\xb3\xb6\x33\xf0\xaa\x44\xe7\x6b", 16);
    auto at = regions.find(metadata_guid);
    ASSERT_NE(at, std::string::npos);
    std::uint64_t region = le64_of(regions, at + 16);
    std::string table = read_at(vhdx, region, 65536);
    auto item = table.find(params_guid, 32);
    ASSERT_NE(item, std::string::npos);
    std::uint64_t value = region + le32_of(table, item + 16);
    std::uint32_t flags = le32_of(read_at(vhdx, value + 4, 4), 0);
    write_at(vhdx, value + 4, le32_bytes(flags | 2));
    EXPECT_NE(refusal(vhdx).find("differencing"), std::string::npos);
}

TEST_F(VmFormat, NamesFormatsItDoesNotImport) {
    ASSERT_EQ(sh("qemu-img create -q -f vpc " + path("d.vhd") + " 16M"), 0);
    ASSERT_EQ(sh("qemu-img create -q -f qed " + path("d.qed") + " 16M"), 0);
    EXPECT_NE(refusal(path("d.vhd")).find("VHD (vpc)"), std::string::npos);
    EXPECT_NE(refusal(path("d.qed")).find("QED"), std::string::npos);
}

} // namespace
} // namespace lodge::vm
