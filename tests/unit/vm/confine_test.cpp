// run_confined with real programs (cat, sh, qemu-img) under Landlock, and
// convert_to_raw: sparse output, progress, backing files switched off,
// failures that leave nothing behind.
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "images/vm/confine.hpp"
#include "images/vm/convert.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/vm/disk_helpers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <filesystem>

namespace lodge::vm {
namespace {

using namespace test;

bool landlock_available() {
    return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U) >= 0;
}

class VmConfine : public ::testing::Test {
protected:
    void SetUp() override {
        if (!landlock_available()) GTEST_SKIP() << "the kernel has no Landlock";
        ASSERT_FALSE(dir.path().empty());
        secret = dir.path() + "/secret";
        write_file_atomic(secret, "secret\n");
    }
    std::string path(const std::string& name) const { return dir.path() + "/" + name; }

    TempDir dir{"lodge-vmconfine"};
    std::string secret;
};

TEST_F(VmConfine, ReadsOnlyWhatIsListed) {
    auto denied = run_confined({"cat", secret}, {});
    EXPECT_TRUE(denied.confined);
    EXPECT_NE(denied.exit_status, 0);
    EXPECT_NE(denied.output.find("Permission denied"), std::string::npos) << denied.output;

    auto allowed = run_confined({"cat", secret}, Confinement{{secret}, {}});
    EXPECT_EQ(allowed.exit_status, 0) << allowed.output;
    EXPECT_EQ(allowed.output, "secret\n");
}

TEST_F(VmConfine, WritesOnlyWhatIsListed) {
    std::string out = path("out"), other = path("other");
    write_file_atomic(out, "");
    auto result = run_confined({"sh", "-c", "echo ok > " + out + " && echo no > " + other}, Confinement{{}, {out}});
    EXPECT_NE(result.exit_status, 0);
    EXPECT_NE(result.output.find("Permission denied"), std::string::npos) << result.output;
    EXPECT_EQ(read_file(out), "ok\n");
    EXPECT_FALSE(std::filesystem::exists(other));
}

TEST_F(VmConfine, StartsCleanWithoutPrivilegesOrFds) {
    int leaked = ::open("/dev/null", O_RDONLY); // no O_CLOEXEC on purpose
    ASSERT_GE(leaked, 0);
    auto fds = run_confined({"ls", "/proc/self/fd"}, {});
    ::close(leaked);
    EXPECT_EQ(fds.exit_status, 0) << fds.output;
    EXPECT_EQ(fds.output, "0\n1\n2\n3\n"); // 3 is ls's own directory
    auto status = run_confined({"grep", "-E", "^(NoNewPrivs|Cap)", "/proc/self/status"}, {});
    EXPECT_NE(status.output.find("NoNewPrivs:\t1"), std::string::npos) << status.output;
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_NE(status.output.find(std::string(set) + ":\t0000000000000000"), std::string::npos) << status.output;
    auto kept = run_confined({"grep", "-E", "^Cap", "/proc/self/status"}, Confinement{{}, {}, {21}});
    EXPECT_NE(kept.output.find("CapEff:\t0000000000200000"), std::string::npos) << kept.output; // CAP_SYS_ADMIN
    EXPECT_NE(kept.output.find("CapBnd:\t0000000000200000"), std::string::npos) << kept.output;
    auto old_handler = ::signal(SIGINT, SIG_IGN);
    auto ignored = run_confined({"grep", "SigIgn", "/proc/self/status"}, {});
    ::signal(SIGINT, old_handler);
    EXPECT_EQ(ignored.output, "SigIgn:\t0000000000000000\n");
    auto env = run_confined({"env"}, {});
    EXPECT_NE(env.output.find("LC_ALL=C"), std::string::npos);
    EXPECT_EQ(env.output.find("HOME="), std::string::npos);
}

TEST_F(VmConfine, SplitsLinesAtNewlinesAndCarriageReturns) {
    std::vector<std::string> lines;
    auto result = run_confined({"printf", "a\\rb\\nc"}, {}, [&](std::string_view l) { lines.emplace_back(l); });
    EXPECT_EQ(result.exit_status, 0);
    EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(VmConfine, ReportsExitStatusAndMissingPrograms) {
    EXPECT_EQ(run_confined({"sh", "-c", "exit 7"}, {}).exit_status, 7);
    EXPECT_EQ(run_confined({"sh", "-c", "kill -9 $$"}, {}).exit_status, 128 + 9);
    EXPECT_THROW(run_confined({"lodge-no-such-program"}, {}), Error);
    EXPECT_THROW(run_confined({"cat"}, Confinement{{path("missing")}, {}}), Error);
}

TEST_F(VmConfine, QemuImgCannotOpenABackingFileWeLetThrough) {
    if (!have("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
    std::string base = path("base.raw"), child = path("child.qcow2"), out = path("out.raw");
    ASSERT_EQ(sh("qemu-img create -q -f raw " + base + " 16M && qemu-img create -q -f qcow2 -b " + base +
                 " -F raw " + child),
              0);
    write_file_atomic(out, "");
    OpenWatch watch(base);
    auto result = run_confined({"qemu-img", "convert", "-f", "qcow2", "-O", "raw", child, out},
                               Confinement{{child}, {out}});
    EXPECT_NE(result.exit_status, 0);
    EXPECT_NE(result.output.find("Permission denied"), std::string::npos) << result.output;
    EXPECT_FALSE(watch.opened());
}

class VmConvert : public VmConfine {
protected:
    void SetUp() override {
        VmConfine::SetUp();
        if (IsSkipped()) return;
        if (!have("qemu-img")) GTEST_SKIP() << "qemu-img is not installed";
    }
};

TEST_F(VmConvert, ConvertsEachFormatToTheSameBytes) {
    std::string raw = path("src.raw");
    ASSERT_EQ(sh("head -c 2M /dev/urandom > " + raw + " && truncate -s 24M " + raw + " && head -c 1M /dev/urandom | "
                 "dd of=" + raw + " bs=1M seek=20 conv=notrunc status=none"),
              0);
    for (auto [format, options] : {std::pair{DiskFormat::qcow2, ""}, std::pair{DiskFormat::vmdk, ""},
                                   std::pair{DiskFormat::vmdk, "-o subformat=streamOptimized"},
                                   std::pair{DiskFormat::vdi, ""}, std::pair{DiskFormat::vhdx, ""}}) {
        std::string name = format_name(format);
        std::string img = path("img." + name), out = path("out." + name + ".raw");
        std::filesystem::remove(img);
        ASSERT_EQ(sh(fmt::format("qemu-img convert -O {} {} {} {}", name, options, raw, img)), 0);
        UniqueFd fd(open_read(img));
        DiskInfo info = probe_disk(fd.get(), 1ULL << 40);
        double last = -1;
        convert_to_raw(img, info, out, [&](double p) { last = p; });
        EXPECT_EQ(last, 100.0) << name;
        EXPECT_EQ(sh("cmp " + raw + " " + out), 0) << name << " " << options;
        std::filesystem::remove(out);
    }
}

// VMware writes streamOptimized files with the grain directory "at the end":
// the header says so and the real header is in a footer before the
// end-of-stream marker. qemu-img makes none, so the test moves one there.
TEST_F(VmConvert, ReadsTheFooterOfAStreamOptimizedVmdk) {
    std::string raw = path("src.raw"), img = path("footer.vmdk"), out = path("footer.raw");
    ASSERT_EQ(sh("head -c 1M /dev/urandom > " + raw + " && truncate -s 8M " + raw +
                 " && qemu-img convert -O vmdk -o subformat=streamOptimized " + raw + " " + img),
              0);
    std::string header = read_at(img, 0, 512);
    std::uint64_t end = std::filesystem::file_size(img);
    ASSERT_EQ(end % 512, 0u);
    std::string marker(512, '\0');
    marker[12] = 3; // MARKER_FOOTER
    write_at(img, end, marker + header + std::string(512, '\0'));
    write_at(img, 56, std::string(8, '\xff')); // gd_offset: at the end
    UniqueFd fd(open_read(img));
    DiskInfo info = probe_disk(fd.get(), 1ULL << 40);
    EXPECT_EQ(info.virtual_size, 8u << 20);
    convert_to_raw(img, info, out, {});
    EXPECT_EQ(sh("cmp " + raw + " " + out), 0);

    // A footer that sends qemu to its descriptor's extents is refused.
    write_at(img, end + 512 + 12, std::string(8, '\0')); // capacity 0
    write_at(img, end + 512 + 28, std::string("\x01\0\0\0\0\0\0\0", 8)); // descriptor at sector 1
    EXPECT_THROW(probe_disk(fd.get(), 1ULL << 40), Error);
}

TEST_F(VmConvert, CostFollowsDataNotVirtualSize) {
    std::string raw = path("data.raw"), img = path("big.qcow2"), out = path("big.raw");
    ASSERT_EQ(sh("head -c 4M /dev/urandom > " + raw + " && qemu-img convert -O qcow2 " + raw + " " + img +
                 " && qemu-img resize -q " + img + " 1T"),
              0);
    UniqueFd fd(open_read(img));
    DiskInfo info = probe_disk(fd.get(), 2ULL << 40);
    ASSERT_EQ(info.virtual_size, 1ULL << 40);
    int calls = 0;
    convert_to_raw(img, info, out, [&](double) { ++calls; });
    EXPECT_GT(calls, 0);
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(std::uint64_t(st.st_size), 1ULL << 40);
    EXPECT_LT(std::uint64_t(st.st_blocks) * 512, 16ULL << 20); // a few MiB allocated, not a TiB
    EXPECT_EQ(sh("cmp -n 4194304 " + raw + " " + out), 0);
}

TEST_F(VmConvert, SwitchesBackingFilesOffEvenWhenTheProbeIsBypassed) {
    std::string base = path("base.raw"), child = path("child.qcow2"), out = path("out.raw");
    ASSERT_EQ(sh("head -c 1M /dev/urandom > " + base + " && truncate -s 8M " + base +
                 " && qemu-img create -q -f qcow2 -b " + base + " -F raw " + child),
              0);
    OpenWatch watch(base);
    // DiskInfo made by hand: probe_disk would have refused this image.
    convert_to_raw(child, DiskInfo{DiskFormat::qcow2, 8 << 20, 0}, out, {});
    EXPECT_FALSE(watch.opened());
    EXPECT_EQ(sh("cmp -n 8388608 " + out + " /dev/zero"), 0); // the backing file's data is not there

    // The same for a VMDK's parentFileNameHint.
    std::string vbase = path("base.vmdk"), vchild = path("child.vmdk"), vout = path("vout.raw");
    ASSERT_EQ(sh("qemu-img convert -O vmdk " + base + " " + vbase + " && qemu-img create -q -f vmdk -b " + vbase +
                 " -F vmdk " + vchild),
              0);
    OpenWatch vwatch(vbase);
    convert_to_raw(vchild, DiskInfo{DiskFormat::vmdk, 8 << 20, 0}, vout, {});
    EXPECT_FALSE(vwatch.opened());
    EXPECT_EQ(sh("cmp -n 8388608 " + vout + " /dev/zero"), 0);
}

TEST_F(VmConvert, FailureReportsQemuAndRemovesTheOutput) {
    std::string raw = path("data.raw"), img = path("bad.qcow2"), out = path("bad.raw");
    ASSERT_EQ(sh("head -c 4M /dev/urandom > " + raw + " && qemu-img convert -O qcow2 " + raw + " " + img), 0);
    write_at(img, 0, std::string("QFI\xfb\0\0\0\x09", 8)); // version 9: qemu refuses to open it
    try {
        convert_to_raw(img, DiskInfo{DiskFormat::qcow2, 4 << 20, 0}, out, {});
        ADD_FAILURE() << "converted a broken image";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("qemu-img could not convert the qcow2 disk"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("version"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_THROW(convert_to_raw(raw, DiskInfo{DiskFormat::raw, 4 << 20, 4 << 20}, out, {}), Error);
}

} // namespace
} // namespace lodge::vm
