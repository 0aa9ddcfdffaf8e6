// Instance backups through `lodge export`/`lodge import` and LXD's own
// `lxc export`/`lxc import` against lodged, on the dir pool and on a btrfs
// pool: the tarball's layout, a round trip into the same lodged and into a
// second one, --instance-only; and hostile backups refused with nothing left.
#include "tests/integration/lxc_session.hpp"

#include "common/file.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

class Backups : public LxcSession, public ::testing::WithParamInterface<std::string> {
protected:
    Backups() : LxcSession("lodge-bk") {}

    std::string pool() {
        if (GetParam() == "dir") return "default";
        if (!made_pool_) {
            auto r = lodge({"storage", "create", "fast", "btrfs", "size=1GiB"});
            EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
            made_pool_ = true;
        }
        return "fast";
    }

    std::string sh(const std::string& name, const std::string& script) {
        auto r = lxc({"exec", name, "--", "sh", "-c", script});
        EXPECT_EQ(r.status, 0) << script << ": " << r.err;
        return r.out;
    }

    // The names in a tarball.
    std::string listing(const std::string& tarball) {
        auto r = run({"tar", "-tf", tarball});
        EXPECT_EQ(r.status, 0) << r.err;
        return r.out;
    }

    bool made_pool_ = false;
};

// lodge against another state directory (a second lodged).
Result lodge_on(const std::string& state, const std::string& home, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state, "HOME=" + home,
                                  bin("lodge")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, "", 120);
}

TEST_P(Backups, ExportImportRoundTripsWithLodgeAndLxc) {
    import(busybox_image_tarball(), "bb");
    auto r = lxc({"launch", "bb", "bk-a", "-s", pool()});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    sh("bk-a", "echo one > /root/one && chown 1000:1000 /root/one && ln /root/one /root/hl");
    ASSERT_EQ(lxc({"snapshot", "bk-a", "s1"}).status, 0);
    sh("bk-a", "echo two > /root/two");
    ASSERT_EQ(lxc({"config", "set", "bk-a", "user.mark", "kept"}).status, 0);

    const TempDir out("lodge-bk-out");
    const auto tarball = out.path() + "/bk-a.tar.gz";
    r = lodge({"export", "bk-a", tarball});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Backup exported successfully!\n");
    // lodge export deletes the server's copy once it has the file.
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-a/backups").json()["metadata"], nlohmann::json::array());
    const auto names = listing(tarball);
    for (const char* expected : {"backup/index.yaml\n", "backup/container/rootfs/root/one\n",
                                 "backup/container/rootfs/root/two\n", "backup/container/metadata.yaml\n",
                                 "backup/snapshots/s1/rootfs/root/one\n"})
        EXPECT_NE(names.find(expected), std::string::npos) << expected << " in\n" << names;
    EXPECT_EQ(names.find("backup/snapshots/s1/rootfs/root/two"), std::string::npos);
    const auto index = run({"tar", "-xOzf", tarball, "backup/index.yaml"}).out;
    EXPECT_NE(index.find("name: bk-a"), std::string::npos) << index;
    EXPECT_NE(index.find("- s1"), std::string::npos) << index;
    EXPECT_NE(index.find("type: container"), std::string::npos) << index;
    EXPECT_NE(index.find("user.mark: kept"), std::string::npos) << index;

    // Into the same lodged under a new name.
    r = lodge({"import", tarball, "bk-b"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"start", "bk-b"}).status, 0) << lodged_->log();
    EXPECT_EQ(sh("bk-b", "cat /root/one /root/two; stat -c '%u %h' /root/one; hostname"), "one\ntwo\n1000 2\nbk-b\n");
    EXPECT_EQ(lxc({"config", "get", "bk-b", "user.mark"}).out, "kept\n");
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-b/snapshots").json()["metadata"],
              nlohmann::json::array({"/1.0/instances/bk-b/snapshots/s1"}));
    r = lxc({"restore", "bk-b", "s1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(sh("bk-b", "cat /root/one; test -e /root/two || echo gone"), "one\ngone\n");
    // The name is taken now.
    r = lodge({"import", tarball, "bk-b"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;

    // Into a second lodged, which has no pool of the backup's name on btrfs:
    // the default profile's pool takes it. (Container names are global on
    // the host, so it gets a name of its own.)
    {
        TempDir state2("lodge-bk2"), home2("lodge-bk2-home");
        Lodged second(state2.path());
        struct Stop {
            std::string state;
            ~Stop() { stop_all_containers(state); }
        } stop{state2.path()};
        r = lodge_on(state2.path(), home2.path(), {"import", tarball, "bk-x"});
        ASSERT_EQ(r.status, 0) << r.err << second.log();
        r = lodge_on(state2.path(), home2.path(), {"start", "bk-x"});
        ASSERT_EQ(r.status, 0) << r.err << second.log();
        r = lodge_on(state2.path(), home2.path(), {"exec", "bk-x", "--", "cat", "/root/one", "/root/two"});
        EXPECT_EQ(r.out, "one\ntwo\n") << r.err;
        EXPECT_EQ(second.request("GET", "/1.0/instances/bk-x/snapshots").json()["metadata"],
                  nlohmann::json::array({"/1.0/instances/bk-x/snapshots/s1"}));
        r = lodge_on(state2.path(), home2.path(), {"delete", "-f", "bk-x"});
        EXPECT_EQ(r.status, 0) << r.err;
    }

    // LXD's client, unchanged: export, then import under another name on the pool.
    const auto lxc_tarball = out.path() + "/bk-a-lxc.tar.gz";
    r = lxc({"export", "bk-a", lxc_tarball, "--compression", "xz"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_NE(r.out.find("Backup exported successfully!"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(lxc_tarball).substr(0, 6), std::string("\xfd" "7zXZ\0", 6));
    r = lxc({"import", lxc_tarball, "bk-c", "-s", pool()});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"start", "bk-c"}).status, 0) << lodged_->log();
    EXPECT_EQ(sh("bk-c", "cat /root/two"), "two\n");
    auto c = lodged_->request("GET", "/1.0/instances/bk-c").json()["metadata"];
    EXPECT_EQ(c["expanded_devices"]["root"]["pool"], pool()) << c.dump();

    // --instance-only leaves the snapshots out.
    const auto only = out.path() + "/bk-a-only.tar.gz";
    r = lodge({"export", "bk-a", only, "--instance-only"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(listing(only).find("backup/snapshots"), std::string::npos);
    r = lodge({"import", only, "bk-d"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-d/snapshots").json()["metadata"], nlohmann::json::array());

    // The backups API itself: create, list, rename, delete; a bad compression is refused.
    auto bad = lodged_->request("POST", "/1.0/instances/bk-a/backups",
                                R"({"name":"b1","compression_algorithm":"gzip --rsyncable"})");
    EXPECT_EQ(bad.status, 400);
    r = lodge({"export", "bk-a", out.path() + "/x.tar", "--optimized-storage"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Optimized storage"), std::string::npos) << r.err;
    auto op = lodged_->request("POST", "/1.0/instances/bk-a/backups", R"({"name":"b1","compression_algorithm":"none"})");
    ASSERT_EQ(op.status, 202) << op.body;
    lodged_->request("GET", op.json()["operation"].get<std::string>() + "/wait");
    auto list = lodged_->request("GET", "/1.0/instances/bk-a/backups?recursion=1").json()["metadata"];
    ASSERT_EQ(list.size(), 1u) << list;
    EXPECT_EQ(list[0]["name"], "b1");
    EXPECT_EQ(list[0]["instance_only"], false);
    op = lodged_->request("POST", "/1.0/instances/bk-a/backups/b1", R"({"name":"b2"})");
    lodged_->request("GET", op.json()["operation"].get<std::string>() + "/wait");
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-a/backups").json()["metadata"],
              nlohmann::json::array({"/1.0/instances/bk-a/backups/b2"}));
    auto file = lodged_->request("GET", "/1.0/instances/bk-a/backups/b2/export");
    EXPECT_EQ(file.status, 200);
    EXPECT_EQ(file.body.substr(257, 5), "ustar"); // an uncompressed tar
    op = lodged_->request("DELETE", "/1.0/instances/bk-a/backups/b2");
    lodged_->request("GET", op.json()["operation"].get<std::string>() + "/wait");
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-a/backups/b2").status, 404);

    for (const char* name : {"bk-a", "bk-b", "bk-c", "bk-d"}) EXPECT_EQ(lxc({"delete", "-f", name}).status, 0);
    if (made_pool_) {
        r = lodge({"storage", "delete", "fast"});
        EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
    }
}

INSTANTIATE_TEST_SUITE_P(Pools, Backups, ::testing::Values("dir", "btrfs"));

class HostileBackups : public LxcSession {
protected:
    HostileBackups() : LxcSession("lodge-bkh") {}

    // A tarball made by Python's tarfile from a script of entries.
    std::string make(const std::string& name, const std::string& body) {
        const auto path = dir_.path() + "/" + name;
        const std::string script = R"(
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w:gz")
def add(name, data=b"", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link
    i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644; i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
def index(name):
    add("backup/index.yaml", ("name: %s\nbackend: dir\npool: default\ntype: container\noptimized: false\n"
        "config:\n  container:\n    architecture: x86_64\n    profiles: [default]\n    config: {}\n"
        "    devices: {}\n" % name).encode())
)" + body + "\nt.close()\n";
        auto r = run({"python3", "-c", script, path});
        EXPECT_EQ(r.status, 0) << r.err;
        return path;
    }

    // A refused import leaves no instance, no volume and no import directory.
    void expect_refused(const std::string& tarball, const std::string& message) {
        auto r = lodge({"import", tarball, "bk-h"});
        EXPECT_NE(r.status, 0);
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-h").status, 404);
        EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/bk-h"));
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(state_.path() + "/backups", ec))
            ADD_FAILURE() << "left behind: " << e.path();
        EXPECT_FALSE(fs::exists("/tmp/bk-escaped"));
    }

    TempDir dir_{"lodge-bkh-files"};
};

TEST_F(HostileBackups, RefusedWithNothingLeft) {
    // The one good case first: the script's tarballs are what an import takes.
    auto good = make("good.tar.gz", R"(
index("bk-good")
add("backup/container", kind=tarfile.DIRTYPE)
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/container/rootfs/hello", b"hi\n")
)");
    auto r = lodge({"import", good});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(read_file(state_.path() + "/storage-pools/default/containers/bk-good/rootfs/hello"), "hi\n");
    ASSERT_EQ(lxc({"delete", "bk-good"}).status, 0);

    // An index naming a path for the instance.
    auto named = make("named.tar.gz", R"(
index("../x")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
)");
    r = lodge({"import", named});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("Invalid instance name \"../x\""), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/x"));

    expect_refused(make("dotdot.tar.gz", R"(
index("bk-h")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/container/rootfs/../../../../../../tmp/bk-escaped", b"x")
)"),
                   "leaves the backup");
    expect_refused(make("symlinked.tar.gz", R"(
index("bk-h")
add("backup/container", kind=tarfile.SYMTYPE, link="/tmp")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/container/rootfs/bk-escaped", b"x")
)"),
                   "backup/container' must be a directory");
    expect_refused(make("rootfs-link.tar.gz", R"(
index("bk-h")
add("backup/container", kind=tarfile.DIRTYPE)
add("backup/container/rootfs", kind=tarfile.SYMTYPE, link="/")
)"),
                   "must be a directory");
    expect_refused(make("through-link.tar.gz", R"(
index("bk-h")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/container/rootfs/etc", kind=tarfile.SYMTYPE, link="/tmp")
add("backup/container/rootfs/etc/bk-escaped", b"x")
)"),
                   "through the symlink");
    expect_refused(make("bad-snapshot.tar.gz", R"(
index("bk-h")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/snapshots/a b/rootfs", kind=tarfile.DIRTYPE)
)"),
                   "invalid snapshot");
    expect_refused(make("cross-link.tar.gz", R"(
index("bk-h")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/container/rootfs/f", b"x")
add("backup/snapshots/s1/rootfs", kind=tarfile.DIRTYPE)
add("backup/snapshots/s1/rootfs/f", kind=tarfile.LNKTYPE, link="backup/container/rootfs/f")
)"),
                   "leaves its volume");
    expect_refused(make("unlisted-snapshot.tar.gz", R"(
index("bk-h")
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
add("backup/snapshots/s1/rootfs", kind=tarfile.DIRTYPE)
)"),
                   "does not list");
    expect_refused(make("no-index.tar.gz", R"(
add("backup/container/rootfs", kind=tarfile.DIRTYPE)
)"),
                   "missing index.yaml");
}

// What a SIGKILL in the middle of a backup or an import leaves (an import's
// working directory, a half-written tarball, a record without its tarball,
// the backups of an instance whose deletion did not reach them) is removed
// when lodged starts again, and logged; a finished backup stays.
TEST_F(HostileBackups, LeftoversRemovedAtStart) {
    import(busybox_image_tarball(), "bb");
    ASSERT_EQ(lxc({"init", "bb", "bk-k"}).status, 0);
    auto op = lodged_->request("POST", "/1.0/instances/bk-k/backups", R"({"name":"kept"})");
    ASSERT_EQ(op.status, 202) << op.body;
    lodged_->request("GET", op.json()["operation"].get<std::string>() + "/wait");
    op = lodged_->request("POST", "/1.0/instances/bk-k/backups",
                          R"({"name":"old","expires_at":"2020-01-01T00:00:00Z"})");
    ASSERT_EQ(op.status, 202) << op.body;
    lodged_->request("GET", op.json()["operation"].get<std::string>() + "/wait");
    const auto base = state_.path() + "/backups";
    ASSERT_TRUE(fs::exists(base + "/bk-k/kept"));
    ASSERT_TRUE(fs::exists(base + "/bk-k/old"));
    fs::create_directories(base + "/.import-AbC123/unpacked/container/rootfs");
    std::ofstream(base + "/.import-AbC123/backup.tar") << "partial";
    std::ofstream(base + "/bk-k/.tmp-Xyz789") << "partial";
    std::ofstream(base + "/bk-k/.half.json") << "{}";
    fs::create_directories(base + "/bk-gone");
    std::ofstream(base + "/bk-gone/backup0") << "old";
    lodged_->stop(SIGKILL);
    lodged_.reset();
    lodged_ = std::make_unique<Lodged>(state_.path());
    // And the backup that expired, as LXD's hourly task would remove it.
    for (const char* gone : {"/.import-AbC123", "/bk-k/.tmp-Xyz789", "/bk-k/.half.json", "/bk-gone", "/bk-k/old",
                             "/bk-k/.old.json"})
        EXPECT_FALSE(fs::exists(base + gone)) << gone;
    EXPECT_NE(lodged_->log().find(".import-AbC123, left by a backup or import that did not finish"),
              std::string::npos)
        << lodged_->log();
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-k/backups").json()["metadata"],
              nlohmann::json::array({"/1.0/instances/bk-k/backups/kept"}));
    ASSERT_EQ(lxc({"delete", "bk-k"}).status, 0);
}

// A real SIGKILL while lodged unpacks an uploaded backup: after the restart
// no import directory, instance, volume or temporary volume is left.
TEST_F(HostileBackups, KillDuringImportLeavesNothing) {
    import(busybox_image_tarball(), "bb");
    ASSERT_EQ(lxc({"init", "bb", "bk-big"}).status, 0);
    {
        std::ofstream big(state_.path() + "/storage-pools/default/containers/bk-big/rootfs/big");
        std::string block(1 << 20, 'x');
        for (int i = 0; i < 400; ++i) big << block;
    }
    const auto tarball = dir_.path() + "/big.tar";
    auto r = lodge({"export", "bk-big", tarball, "--compression", "none"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"delete", "bk-big"}).status, 0);
    const auto base = state_.path() + "/backups";
    auto unpacking = [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(base, ec))
            if (e.path().filename().string().rfind(".import-", 0) == 0 && fs::exists(e.path() / "unpacked")) return true;
        return false;
    };
    {
        Background client({"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state_.path(), "HOME=" + home_.path(),
                           bin("lodge"), "import", tarball, "bk-big2"});
        ASSERT_TRUE(wait_until(unpacking, 60)) << lodged_->log();
        lodged_->stop(SIGKILL);
        lodged_.reset();
    }
    lodged_ = std::make_unique<Lodged>(state_.path());
    EXPECT_FALSE(unpacking());
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec))
        EXPECT_NE(e.path().filename().string().rfind(".import-", 0), 0u) << e.path();
    EXPECT_NE(lodged_->log().find("left by a backup or import that did not finish"), std::string::npos)
        << lodged_->log();
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/bk-big2").status, 404);
    for (const auto& e : fs::directory_iterator(state_.path() + "/storage-pools/default/containers", ec))
        ADD_FAILURE() << "left: " << e.path();
}

} // namespace
} // namespace lodge::test
