// Publishing instances as images, as an admin does it: change an instance,
// publish it with an alias, launch a new instance from the alias and find
// the change; export the image, import it into another lodged, launch it
// there. Through lodge and through LXD's own `lxc publish`.
#include "tests/integration/lxc_session.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <unistd.h>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

class Publish : public LxcSession {
protected:
    Publish() : LxcSession("lodge-im-publish") {}

    // The fingerprint from "Instance published with fingerprint: FP\n".
    static std::string published(const Result& r) {
        std::smatch m;
        static const std::regex line("^Instance published with fingerprint: ([0-9a-f]{64})\n$");
        return std::regex_match(r.out, m, line) ? m[1].str() : "";
    }
};

TEST_F(Publish, PublishedInstanceKeepsItsChangesAndImportsIntoAnotherLodged) {
    import(busybox_image_tarball(), "im-bb");
    auto r = lodge({"launch", "im-bb", "im-src"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lodge({"exec", "im-src", "--", "sh", "-c", "echo published > /etc/im-marker"});
    ASSERT_EQ(r.status, 0) << r.err;

    // Running: refused unless --force, as lxc publish refuses it.
    r = lodge({"publish", "im-src", "--alias", "im-gold"});
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.err, "Error: The instance is currently running. Use --force to have it stopped and restarted\n");
    ASSERT_EQ(lodge({"stop", "im-src", "--force"}).status, 0);

    r = lodge({"publish", "im-src", "--alias", "im-gold", "--compression", "zstd", "--public", "os=golden"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    const auto fp = published(r);
    ASSERT_FALSE(fp.empty()) << r.out;
    EXPECT_TRUE(fs::exists(state_.path() + "/images/" + fp));
    auto info = lxc({"image", "info", "im-gold"});
    EXPECT_NE(info.out.find("Fingerprint: " + fp), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("    os: golden"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("Public: yes"), std::string::npos) << info.out;

    // An alias in use is refused unless --reuse, as lxc does.
    r = lodge({"publish", "im-src", "--alias", "im-gold"});
    EXPECT_EQ(r.err, "Error: Aliases already exists: im-gold\n");

    // An unknown compression is refused before anything happens.
    r = lodge({"publish", "im-src", "--alias", "im-bad", "--compression", "-I/bin/sh"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Unsupported compression algorithm '-I/bin/sh'"), std::string::npos) << r.err;

    r = lodge({"launch", "im-gold", "im-dst"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lodge({"exec", "im-dst", "--", "cat", "/etc/im-marker"});
    EXPECT_EQ(r.out, "published\n") << r.err;

    // Export, then import into a second lodged on its own state directory.
    TempDir out("lodge-im-export");
    r = lxc({"image", "export", "im-gold", out.path() + "/gold"});
    ASSERT_EQ(r.status, 0) << r.err;
    // lxc adds the extension the server's file name has: zstd, as published.
    const auto file = out.path() + "/gold.tar.zst";
    ASSERT_TRUE(fs::exists(file)) << run({"ls", out.path()}).out;
    EXPECT_EQ(run({"sh", "-c", "sha256sum < \"$0\"", file}).out.substr(0, 64), fp);

    TempDir state2("lodge-im-second");
    TempDir home2("lodge-im-second-home");
    auto lodge2 = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state2.path(),
                                      "HOME=" + home2.path(), bin("lodge")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 120);
    };
    struct Cleanup {
        std::string dir;
        ~Cleanup() { stop_all_containers(dir); }
    } cleanup{state2.path()};
    Lodged second(state2.path());
    r = lodge2({"image", "import", file, "--alias", "im-far"});
    ASSERT_EQ(r.status, 0) << r.err << second.log();
    EXPECT_EQ(r.out, "Image imported with fingerprint: " + fp + "\n");
    r = lodge2({"launch", "im-far", "im-far1"});
    ASSERT_EQ(r.status, 0) << r.err << second.log();
    r = lodge2({"exec", "im-far1", "--", "cat", "/etc/im-marker"});
    EXPECT_EQ(r.out, "published\n") << r.err;
    EXPECT_EQ(lodge2({"delete", "im-far1", "--force"}).status, 0);
    second.stop();

    EXPECT_EQ(lodge({"delete", "im-dst", "--force"}).status, 0);
    EXPECT_EQ(lodge({"delete", "im-src", "--force"}).status, 0);
}

TEST_F(Publish, LxcPublishesThroughLodged) {
    import(busybox_image_tarball(), "im-bb");
    auto r = lxc({"launch", "im-bb", "im-lx"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"exec", "im-lx", "--", "sh", "-c", "echo from-lxc > /etc/im-marker"}).status, 0);

    r = lxc({"publish", "im-lx", "--alias", "im-lxgold"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("currently running"), std::string::npos) << r.err;

    // lxc checks on its side; lodged refuses as well.
    r = lxc({"query", "-X", "POST", "--wait", "/1.0/images", "--data",
             R"({"source": {"type": "instance", "name": "im-lx"}, "aliases": [{"name": "im-api"}]})"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Cannot export a running instance as an image"), std::string::npos) << r.err;
    EXPECT_EQ(lxc({"image", "alias", "list", "im-api", "--format", "csv"}).out, "");

    // --force stops it, publishes, and starts it again.
    r = lxc({"publish", "im-lx", "--alias", "im-lxgold", "--force", "--compression", "xz", "description=from lxc"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_FALSE(published(r).empty()) << r.out;
    EXPECT_TRUE(wait_until([&] { return lxc({"list", "im-lx", "-c", "s", "--format", "csv"}).out == "RUNNING\n"; }, 30));
    EXPECT_EQ(lxc({"image", "list", "im-lxgold", "-c", "d", "--format", "csv"}).out, "from lxc\n");

    r = lxc({"launch", "im-lxgold", "im-lx2"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(lxc({"exec", "im-lx2", "--", "cat", "/etc/im-marker"}).out, "from-lxc\n");
    EXPECT_EQ(lxc({"delete", "im-lx2", "--force"}).status, 0);
    EXPECT_EQ(lxc({"delete", "im-lx", "--force"}).status, 0);
}

class ImageLaunch : public LxcSession {
protected:
    ImageLaunch() : LxcSession("lodge-im-launch") {}
};

// A split image whose rootfs is a squashfs (distrobuilder's layout) runs.
TEST_F(ImageLaunch, SquashfsSplitImageLaunches) {
    if (::access("/usr/bin/sqfs2tar", X_OK) != 0) GTEST_SKIP() << "squashfs-tools-ng is needed (scripts/setup)";
    TempDir files("lodge-im-sqlaunch");
    const auto meta = files.path() + "/meta.tar.gz", rootfs = files.path() + "/rootfs.squashfs";
    std::ofstream(files.path() + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1764000000\n";
    ASSERT_EQ(run({"tar", "-czf", meta, "-C", files.path(), "metadata.yaml"}).status, 0);
    ASSERT_EQ(run({"mksquashfs", fixture("busybox"), rootfs, "-noappend", "-quiet", "-no-progress"}).status, 0);
    auto r = lxc({"image", "import", meta, rootfs, "--alias", "im-sq"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lxc({"launch", "im-sq", "im-sq1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(lxc({"exec", "im-sq1", "--", "sh", "-c", "echo ok"}).out, "ok\n");
    EXPECT_EQ(lxc({"delete", "im-sq1", "--force"}).status, 0);
}

} // namespace
} // namespace lodge::test
