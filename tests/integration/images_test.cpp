// Images through LXD's own client and through lodge: import the busybox
// image as a unified tarball, list it, show it, alias it, delete it — and
// lodge must print what lxc prints for the same commands.
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

// What is left on screen of lxc's progress output: the text after its last
// carriage return.
std::string last_line(const std::string& out) {
    auto cr = out.rfind('\r');
    return cr == std::string::npos ? out : out.substr(cr + 1);
}

class ImagesCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (lxc_binary().empty()) GTEST_SKIP() << "lxc (Debian's lxd-client) is not installed; scripts/setup installs it";
        lodged_ = std::make_unique<Lodged>(state_.path());
    }

    Result lxc(std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LXC_REMOTE", "-u", "LXD_CONF", "LXD_DIR=" + state_.path(),
                                      "HOME=" + lxc_home_.path(), lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 60);
    }
    Result lodge(std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env",          "-u", "LODGE_REMOTE", "-u", "LODGE_CONF",
                                      "LODGE_DIR=" + state_.path(), "HOME=" + lodge_home_.path(), bin("lodge")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 60);
    }

    TempDir state_{"lodge-images-state"};
    TempDir lxc_home_{"lodge-images-lxchome"};
    TempDir lodge_home_{"lodge-images-home"};
    std::unique_ptr<Lodged> lodged_;
};

TEST_F(ImagesCli, LxcImportsListsShowsAndDeletesTheBusyboxImage) {
    const auto tarball = busybox_image_tarball();
    auto imported = lxc({"image", "import", tarball, "--alias", "img-bb"});
    ASSERT_EQ(imported.status, 0) << imported.err << lodged_->log();
    auto fp_start = imported.out.find("fingerprint: ");
    ASSERT_NE(fp_start, std::string::npos) << imported.out;
    const auto fp = imported.out.substr(fp_start + 13, 64);
    EXPECT_TRUE(fs::exists(state_.path() + "/images/" + fp));

    auto list = lxc({"image", "list", "--format", "csv"});
    ASSERT_EQ(list.status, 0) << list.err;
    EXPECT_EQ(list.out.rfind("img-bb," + fp.substr(0, 12) + ",no,BusyBox test image,x86_64,CONTAINER,", 0), 0u)
        << list.out;

    auto info = lxc({"image", "info", "img-bb"});
    ASSERT_EQ(info.status, 0) << info.err;
    EXPECT_NE(info.out.find("Fingerprint: " + fp), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("    os: busybox"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("Aliases:\n    - img-bb"), std::string::npos) << info.out;

    // Importing it again is refused; nothing changes.
    auto again = lxc({"image", "import", tarball, "--alias", "img-bb2"});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

    auto alias = lxc({"image", "alias", "create", "img-bb-too", fp.substr(0, 12)});
    ASSERT_EQ(alias.status, 0) << alias.err;
    auto aliases = lxc({"image", "alias", "list", "--format", "csv"});
    EXPECT_EQ(aliases.out, "img-bb," + fp.substr(0, 12) + ",CONTAINER,\nimg-bb-too," + fp.substr(0, 12) +
                               ",CONTAINER,\n");

    // Export gives the uploaded file back (lxc checks its SHA-256).
    TempDir out("lodge-images-export");
    auto exported = lxc({"image", "export", "img-bb", out.path() + "/bb"});
    ASSERT_EQ(exported.status, 0) << exported.err;
    EXPECT_EQ(run({"cmp", tarball, out.path() + "/bb.tar.gz"}).status, 0);

    // Editing properties: lxc image edit reads the new YAML on stdin.
    auto edited = run({"/usr/bin/env", "LXD_DIR=" + state_.path(), "HOME=" + lxc_home_.path(), lxc_binary(), "image",
                       "edit", "img-bb"},
                      "auto_update: false\nproperties:\n  os: edited\npublic: true\nexpires_at: 1970-01-01T00:00:00Z\n"
                      "profiles:\n- default\n");
    ASSERT_EQ(edited.status, 0) << edited.err;
    EXPECT_EQ(lxc({"image", "show", "img-bb"}).out,
              "auto_update: false\nproperties:\n  os: edited\npublic: true\nexpires_at: 1970-01-01T00:00:00Z\n"
              "profiles:\n- default\n");

    auto deleted = lxc({"image", "delete", "img-bb"});
    ASSERT_EQ(deleted.status, 0) << deleted.err;
    EXPECT_EQ(lxc({"image", "list", "--format", "csv"}).out, "");
    EXPECT_EQ(lxc({"image", "alias", "list", "--format", "csv"}).out, "");
    EXPECT_FALSE(fs::exists(state_.path() + "/images/" + fp));
}

TEST_F(ImagesCli, SplitImagesImportAndExport) {
    TempDir files("lodge-images-split");
    const auto meta = files.path() + "/meta.tar.gz", rootfs = files.path() + "/rootfs.tar.gz";
    std::ofstream(files.path() + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1764000000\n"
                                                      "properties:\n  description: split busybox\n";
    ASSERT_EQ(run({"tar", "-czf", meta, "-C", files.path(), "metadata.yaml"}).status, 0);
    ASSERT_EQ(run({"tar", "--numeric-owner", "-czf", rootfs, "-C", fixture("busybox"), "."}).status, 0);

    auto imported = lxc({"image", "import", meta, rootfs, "--alias", "img-split"});
    ASSERT_EQ(imported.status, 0) << imported.err << lodged_->log();
    auto sum = run({"sh", "-c", "cat \"$0\" \"$1\" | sha256sum", meta, rootfs}).out.substr(0, 64);
    EXPECT_NE(imported.out.find("fingerprint: " + sum), std::string::npos) << imported.out;
    EXPECT_EQ(lxc({"image", "list", "--format", "csv"}).out.rfind("img-split," + sum.substr(0, 12) + ",no,split busybox,", 0),
              0u);
    auto exported = lxc({"image", "export", "img-split", files.path() + "/out"});
    ASSERT_EQ(exported.status, 0) << exported.err;
    // lxc names the files itself: TARGET for the metadata, TARGET.root for the rootfs.
    EXPECT_EQ(run({"cmp", meta, files.path() + "/out"}).status, 0);
    EXPECT_EQ(run({"cmp", rootfs, files.path() + "/out.root"}).status, 0) << run({"ls", files.path()}).out;
    ASSERT_EQ(lxc({"image", "delete", "img-split"}).status, 0);

    // lodge sends the same multipart upload.
    auto ours = lodge({"image", "import", meta, rootfs, "--alias", "img-split"});
    ASSERT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, "Image imported with fingerprint: " + sum + "\n");
    EXPECT_EQ(lodge({"image", "delete", "img-split"}).status, 0);
}

// LXD's split images with a squashfs rootfs (as distrobuilder builds them):
// imported by lxc and lodge, exported as LXD exports them (TARGET and
// TARGET.root, or the server's names in a directory), imported again.
TEST_F(ImagesCli, SquashfsSplitImagesImportExportAndImportAgain) {
    if (::access("/usr/bin/sqfs2tar", X_OK) != 0) GTEST_SKIP() << "squashfs-tools-ng is needed (scripts/setup)";
    TempDir files("lodge-im-squashfs");
    const auto meta = files.path() + "/meta.tar.xz", rootfs = files.path() + "/rootfs.squashfs";
    std::ofstream(files.path() + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1764000000\n"
                                                      "properties:\n  description: squashfs busybox\n";
    ASSERT_EQ(run({"tar", "-cJf", meta, "-C", files.path(), "metadata.yaml"}).status, 0);
    auto made = run({"mksquashfs", fixture("busybox"), rootfs, "-noappend", "-quiet", "-no-progress"});
    ASSERT_EQ(made.status, 0) << made.err;

    auto imported = lxc({"image", "import", meta, rootfs, "--alias", "im-sq"});
    ASSERT_EQ(imported.status, 0) << imported.err << lodged_->log();
    const auto sum = run({"sh", "-c", "cat \"$0\" \"$1\" | sha256sum", meta, rootfs}).out.substr(0, 64);
    EXPECT_NE(imported.out.find("fingerprint: " + sum), std::string::npos) << imported.out;

    // To a file name: TARGET and TARGET.root, byte for byte.
    auto exported = lxc({"image", "export", "im-sq", files.path() + "/out"});
    ASSERT_EQ(exported.status, 0) << exported.err;
    EXPECT_EQ(run({"cmp", meta, files.path() + "/out"}).status, 0);
    EXPECT_EQ(run({"cmp", rootfs, files.path() + "/out.root"}).status, 0);
    auto ours = lodge({"image", "export", "im-sq", files.path() + "/ours"});
    ASSERT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, last_line(exported.out));
    EXPECT_EQ(run({"cmp", meta, files.path() + "/ours"}).status, 0);
    EXPECT_EQ(run({"cmp", rootfs, files.path() + "/ours.root"}).status, 0);
    // To a directory: the server's names, the rootfs as .squashfs.
    TempDir dir("lodge-im-squashfs-dir");
    ASSERT_EQ(lodge({"image", "export", sum.substr(0, 12), dir.path()}).status, 0);
    EXPECT_EQ(run({"cmp", meta, dir.path() + "/meta-" + sum + ".tar.xz"}).status, 0) << run({"ls", dir.path()}).out;
    EXPECT_EQ(run({"cmp", rootfs, dir.path() + "/" + sum + ".squashfs"}).status, 0);

    // What was exported imports again, with the same fingerprint.
    ASSERT_EQ(lxc({"image", "delete", "im-sq"}).status, 0);
    auto again = lodge({"image", "import", files.path() + "/ours", files.path() + "/ours.root", "--alias", "im-sq"});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.out, "Image imported with fingerprint: " + sum + "\n");
    EXPECT_EQ(lodge({"image", "delete", "im-sq"}).status, 0);
    EXPECT_TRUE(fs::is_empty(state_.path() + "/images"));
}

TEST_F(ImagesCli, LodgeExportsAsLxcExports) {
    const auto tarball = busybox_image_tarball();
    ASSERT_EQ(lodge({"image", "import", tarball, "--alias", "im-bb"}).status, 0);
    TempDir out("lodge-im-export-cmp");
    auto theirs = lxc({"image", "export", "im-bb", out.path() + "/theirs"});
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    auto ours = lodge({"image", "export", "im-bb", out.path() + "/ours"});
    ASSERT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, last_line(theirs.out));
    EXPECT_EQ(run({"cmp", tarball, out.path() + "/theirs.tar.gz"}).status, 0) << run({"ls", out.path()}).out;
    EXPECT_EQ(run({"cmp", tarball, out.path() + "/ours.tar.gz"}).status, 0) << run({"ls", out.path()}).out;
    EXPECT_EQ(lodge({"image", "delete", "im-bb"}).status, 0);
}

TEST_F(ImagesCli, LodgePrintsWhatLxcPrints) {
    auto imported = lodge({"image", "import", busybox_image_tarball(), "--alias", "img-bb"});
    ASSERT_EQ(imported.status, 0) << imported.err << lodged_->log();
    auto fp_start = imported.out.find("fingerprint: ");
    ASSERT_NE(fp_start, std::string::npos) << imported.out;
    const auto fp = imported.out.substr(fp_start + 13, 64);
    ASSERT_EQ(lxc({"image", "alias", "create", "img-bb2", fp}).status, 0);
    std::vector<std::vector<std::string>> commands{
        {"image", "list"},          {"image", "list", "--format", "csv"}, {"image", "list", "--format", "json"},
        {"image", "list", "--format", "yaml"}, {"image", "info", "img-bb"},   {"image", "alias", "list"},
        {"image", "alias", "list", "--format", "csv"}, {"image", "list", "img-bb"},
        {"image", "alias", "list", "--format", "json"}, {"image", "alias", "list", "--format", "yaml"},
        {"image", "list", "os=busybox", "--format", "compact"}, {"image", "list", "nomatch"},
        {"image", "show", "img-bb"}};
    for (const auto& cmd : commands) {
        std::string shown;
        for (const auto& w : cmd) shown += " " + w;
        auto theirs = lxc(cmd);
        ASSERT_EQ(theirs.status, 0) << "lxc" << shown << ": " << theirs.err;
        auto ours = lodge(cmd);
        ASSERT_EQ(ours.status, 0) << "lodge" << shown << ": " << ours.err;
        EXPECT_EQ(ours.out, cmd[1] == "info" ? sorted_properties(theirs.out) : theirs.out) << "lodge" << shown;
    }
    EXPECT_EQ(lodge({"image", "alias", "delete", "img-bb2"}).status, 0);
    EXPECT_EQ(lxc({"image", "alias", "list", "--format", "csv"}).out.find("img-bb2"), std::string::npos);
    auto bad = lodge({"image", "info", "nope"});
    EXPECT_NE(bad.status, 0);
    EXPECT_EQ(bad.err, lxc({"image", "info", "nope"}).err);
    EXPECT_EQ(lodge({"image", "delete", "img-bb"}).status, 0);
    EXPECT_EQ(lxc({"image", "list", "--format", "csv"}).out, "");
}

} // namespace
} // namespace lodge::test
