// Snapshots, restores and copies through LXD's own `lxc` against lodged, on
// the dir pool and on a btrfs pool on a loop file that lodged makes; the
// scheduler; and what a SIGKILL of lodged in the middle of storage work
// leaves (nothing, once it has started again).
#include "tests/integration/lxc_session.hpp"

#include "common/file.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

class Snapshots : public LxcSession, public ::testing::WithParamInterface<std::string> {
protected:
    Snapshots() : LxcSession("lodge-snap") {}

    // The pool the test's instances go to: "default" (dir) or a btrfs pool
    // made through `lodge storage create`.
    std::string pool() {
        if (GetParam() == "dir") return "default";
        if (!made_pool_) {
            auto r = lodge({"storage", "create", "fast", "btrfs", "size=1GiB"});
            EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
            EXPECT_EQ(r.out, "Storage pool fast created\n");
            made_pool_ = true;
        }
        return "fast";
    }

    void launch(const std::string& name) {
        if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
        auto r = lxc({"launch", "bb", name, "-s", pool()});
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }

    std::string sh(const std::string& name, const std::string& script) {
        auto r = lxc({"exec", name, "--", "sh", "-c", script});
        EXPECT_EQ(r.status, 0) << script << ": " << r.err;
        return r.out;
    }

    bool made_pool_ = false;
};

TEST_P(Snapshots, SnapshotChangeRestoreAndCopyThroughLxc) {
    launch("sn-a");
    // Content, a hardlink, a setuid mode and an owner other than root.
    sh("sn-a", "echo one > /root/f && ln /root/f /root/hl && chmod 4751 /root/f && mkdir /root/d && "
               "chown 1000:1000 /root/d");
    auto r = lxc({"snapshot", "sn-a", "s1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();

    sh("sn-a", "echo two > /root/f && rm /root/hl && touch /root/new && chown 0:0 /root/d");
    ASSERT_EQ(lxc({"config", "set", "sn-a", "user.after", "yes"}).status, 0);

    auto info = lxc({"info", "sn-a"});
    ASSERT_EQ(info.status, 0) << info.err;
    EXPECT_NE(info.out.find("Snapshots:"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("| s1 "), std::string::npos) << info.out;

    r = lxc({"restore", "sn-a", "s1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(lxc({"list", "--format", "csv", "-c", "ns", "sn-a"}).out, "sn-a,RUNNING\n");
    EXPECT_EQ(sh("sn-a", "cat /root/f"), "one\n");
    EXPECT_EQ(sh("sn-a", "test -e /root/new || echo gone"), "gone\n");
    EXPECT_EQ(sh("sn-a", "stat -c '%a %h' /root/f"), "4751 2\n");
    EXPECT_EQ(sh("sn-a", "[ /root/f -ef /root/hl ] && echo same"), "same\n");
    EXPECT_EQ(sh("sn-a", "stat -c '%u:%g' /root/d"), "1000:1000\n");
    EXPECT_EQ(lxc({"config", "get", "sn-a", "user.after"}).out, "\n");

    // A new instance from the snapshot, and a copy that takes the snapshots along.
    r = lxc({"copy", "sn-a/s1", "sn-b"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"start", "sn-b"}).status, 0);
    EXPECT_EQ(sh("sn-b", "cat /root/f; hostname"), "one\nsn-b\n");
    r = lxc({"copy", "sn-a", "sn-c"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    auto snaps = lodged_->request("GET", "/1.0/instances/sn-c/snapshots").json()["metadata"];
    EXPECT_EQ(snaps, nlohmann::json::array({"/1.0/instances/sn-c/snapshots/s1"}));

    // Rename and delete a snapshot.
    ASSERT_EQ(lxc({"rename", "sn-a/s1", "sn-a/first"}).status, 0);
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/sn-a/snapshots/first").status, 200);
    r = lxc({"delete", "sn-a/first"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/sn-a/snapshots/first").status, 404);

    for (const char* name : {"sn-a", "sn-b", "sn-c"}) {
        r = lxc({"delete", "-f", name});
        EXPECT_EQ(r.status, 0) << r.err;
    }
    if (made_pool_) {
        // The cached image volume goes with the pool; the loop file and its mount too.
        r = lodge({"storage", "delete", "fast"});
        EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
        EXPECT_EQ(read_file("/proc/self/mountinfo").find(state_.path()), std::string::npos);
        EXPECT_FALSE(fs::exists(state_.path() + "/disks/fast.img"));
    }
}

// A custom volume attached as a disk: the guest writes into it, a snapshot
// and restore of the volume bring its files back, and it outlives the
// instance.
TEST_P(Snapshots, CustomVolumeAttachSnapshotRestore) {
    launch("sn-v");
    auto r = lxc({"storage", "volume", "create", pool(), "data"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lxc({"storage", "volume", "attach", pool(), "data", "sn-v", "/mnt/data"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"restart", "-f", "sn-v"}).status, 0) << lodged_->log();
    sh("sn-v", "echo kept > /mnt/data/f && chown 1000 /mnt/data/f");
    EXPECT_EQ(sh("sn-v", "stat -c %u /mnt/data/f"), "1000\n");
    r = lxc({"storage", "volume", "snapshot", pool(), "data", "v1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    sh("sn-v", "echo changed > /mnt/data/f");
    ASSERT_EQ(lxc({"stop", "-f", "sn-v"}).status, 0);
    r = lxc({"storage", "volume", "restore", pool(), "data", "v1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"start", "sn-v"}).status, 0) << lodged_->log();
    EXPECT_EQ(sh("sn-v", "cat /mnt/data/f"), "kept\n");

    auto list = lxc({"storage", "volume", "list", pool(), "--format", "csv"});
    EXPECT_NE(list.out.find("custom,data,"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("container,sn-v,"), std::string::npos) << list.out;
    // In use: not deleted.
    EXPECT_NE(lxc({"storage", "volume", "delete", pool(), "data"}).status, 0);
    ASSERT_EQ(lxc({"delete", "-f", "sn-v"}).status, 0);
    r = lxc({"storage", "volume", "delete", pool(), "data"});
    EXPECT_EQ(r.status, 0) << r.err;
    if (made_pool_) {
        EXPECT_EQ(lodge({"storage", "delete", "fast"}).status, 0) << lodged_->log();
    }
}

// The root disk's size: a quota on btrfs that the guest runs into; refused
// with the reason on dir, changing nothing.
TEST_P(Snapshots, RootDiskSize) {
    launch("sn-q");
    // `lxc launch -s POOL` gives the instance its own root device.
    auto r = lxc({"config", "device", "set", "sn-q", "root", "size=32MiB"});
    if (GetParam() == "dir") {
        EXPECT_NE(r.status, 0);
        EXPECT_NE(r.err.find("has no quotas"), std::string::npos) << r.err;
        EXPECT_FALSE(lodged_->request("GET", "/1.0/instances/sn-q").json()["metadata"]["devices"]["root"].contains("size"));
    } else {
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
        auto w = lxc({"exec", "sn-q", "--", "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=64"});
        EXPECT_NE(w.status, 0);
        EXPECT_NE(w.err.find("quota"), std::string::npos) << w.err;
        // Lifting it lets the guest write again.
        ASSERT_EQ(lxc({"config", "device", "unset", "sn-q", "root", "size"}).status, 0);
        w = lxc({"exec", "sn-q", "--", "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=64"});
        EXPECT_EQ(w.status, 0) << w.err;
    }
    ASSERT_EQ(lxc({"delete", "-f", "sn-q"}).status, 0);
    if (made_pool_) {
        EXPECT_EQ(lodge({"storage", "delete", "fast"}).status, 0) << lodged_->log();
    }
}

INSTANTIATE_TEST_SUITE_P(Pools, Snapshots, ::testing::Values("dir", "btrfs"));

class SnapshotSchedule : public LxcSession {
protected:
    SnapshotSchedule() : LxcSession("lodge-sched") {}
};

// A one-minute schedule with a one-minute expiry: lodged takes the
// snapshot on its own, then removes it on its own.
TEST_F(SnapshotSchedule, TakenAndExpiredByLodged) {
    import(busybox_image_tarball(), "bb");
    ASSERT_EQ(lxc({"launch", "bb", "sn-s"}).status, 0);
    auto r = lxc({"config", "set", "sn-s", "snapshots.schedule=* * * * *", "snapshots.expiry=1M",
                  "snapshots.pattern=auto-%d"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto snapshots = [&] { return lodged_->request("GET", "/1.0/instances/sn-s/snapshots").json()["metadata"]; };
    ASSERT_TRUE(wait_until([&] { return !snapshots().empty(); }, 75)) << lodged_->log();
    // No more after this one, so the one taken can be seen to go.
    ASSERT_EQ(lxc({"config", "unset", "sn-s", "snapshots.schedule"}).status, 0);
    const auto taken = snapshots();
    ASSERT_GE(taken.size(), 1u);
    const std::string first = taken[0];
    EXPECT_EQ(first, "/1.0/instances/sn-s/snapshots/auto-0");
    auto snap = lodged_->request("GET", first).json()["metadata"];
    EXPECT_NE(snap["expires_at"], "0001-01-01T00:00:00Z");
    ASSERT_TRUE(wait_until([&] { return snapshots().empty(); }, 90)) << snapshots() << lodged_->log();
    // Logged once the removal is done, a moment after the API stops listing it.
    EXPECT_TRUE(wait_until([&] { return lodged_->log().find("auto-0, which expired") != std::string::npos; }, 5));
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers-snapshots/sn-s/auto-0"));
    ASSERT_EQ(lxc({"delete", "-f", "sn-s"}).status, 0);
}

class StorageCrash : public LxcSession {
protected:
    StorageCrash() : LxcSession("lodge-crash") {}

    // Entries with lodge's temporary prefix anywhere in the pools.
    std::vector<std::string> temporaries() {
        std::vector<std::string> found;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(state_.path() + "/storage-pools", ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (it->path().filename().string().rfind(".lodge-tmp-", 0) == 0) found.push_back(it->path());
            // Volumes' own files are not the pool's business.
            if (it.depth() >= 3) it.disable_recursion_pending();
        }
        return found;
    }

    // Starts `args` through lxc in the background, kills lodged with SIGKILL
    // as soon as `started` holds, and starts lodged again.
    void kill_during(const std::vector<std::string>& args, const std::function<bool()>& started) {
        std::vector<std::string> argv{"/usr/bin/env", "LXD_DIR=" + state_.path(), "HOME=" + home_.path(),
                                      lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        Background client(argv);
        ASSERT_TRUE(wait_until(started, 60)) << lodged_->log();
        restart_after_kill();
    }

    // The old Lodged goes first: it removes the log file the new one writes.
    void restart_after_kill() {
        lodged_->stop(SIGKILL);
        lodged_.reset();
        lodged_ = std::make_unique<Lodged>(state_.path());
    }
};

TEST_F(StorageCrash, KillDuringSnapshotAndCopyLeavesNothing) {
    import(busybox_image_tarball(), "bb");
    ASSERT_EQ(lxc({"init", "bb", "sn-k"}).status, 0);
    // Enough data that a copy on dir takes a moment to catch.
    {
        std::ofstream big(state_.path() + "/storage-pools/default/containers/sn-k/rootfs/big");
        std::string block(1 << 20, 'x');
        for (int i = 0; i < 400; ++i) big << block;
    }
    kill_during({"snapshot", "sn-k", "s1"}, [&] { return !temporaries().empty(); });
    EXPECT_TRUE(temporaries().empty()) << temporaries()[0];
    EXPECT_NE(lodged_->log().find("left by work that did not finish"), std::string::npos) << lodged_->log();
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/sn-k/snapshots").json()["metadata"], nlohmann::json::array());
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers-snapshots/sn-k/s1"));

    kill_during({"copy", "sn-k", "sn-k2"}, [&] { return !temporaries().empty(); });
    EXPECT_TRUE(temporaries().empty());
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/sn-k2").status, 404);
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/sn-k2"));

    // A volume with no row (a kill between the copy and the database
    // write) is removed and named in the log.
    fs::create_directories(state_.path() + "/storage-pools/default/containers/sn-orphan/rootfs");
    fs::create_directories(state_.path() + "/storage-pools/default/containers-snapshots/sn-k/orphan-snap");
    restart_after_kill();
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers/sn-orphan"));
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers-snapshots/sn-k/orphan-snap"));
    EXPECT_NE(lodged_->log().find("containers/sn-orphan, which no database row accounts for"), std::string::npos)
        << lodged_->log();

    // What stays works: a snapshot now succeeds.
    auto r = lxc({"snapshot", "sn-k", "s1"});
    EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"delete", "sn-k"}).status, 0);
    EXPECT_FALSE(fs::exists(state_.path() + "/storage-pools/default/containers-snapshots/sn-k"));
}

// A backup (lxc export) killed while lodged writes it: after the restart
// the half-written tarball is gone and no backup is listed.
TEST_F(StorageCrash, KillDuringBackupExportLeavesNothing) {
    import(busybox_image_tarball(), "bb");
    ASSERT_EQ(lxc({"init", "bb", "sn-e"}).status, 0);
    ASSERT_EQ(run({"dd", "if=/dev/urandom", "of=" + state_.path() + "/storage-pools/default/containers/sn-e/rootfs/big",
                   "bs=1M", "count=200", "status=none"})
                  .status,
              0);
    const auto dir = state_.path() + "/backups/sn-e";
    auto partial = [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.path().filename().string().rfind(".tmp-", 0) == 0) return true;
        return false;
    };
    TempDir out("lodge-crash-export");
    kill_during({"export", "sn-e", out.path() + "/sn-e.tar.gz"}, partial);
    EXPECT_FALSE(partial());
    EXPECT_EQ(lodged_->request("GET", "/1.0/instances/sn-e/backups").json()["metadata"], nlohmann::json::array());
    std::error_code ec;
    EXPECT_TRUE(!fs::exists(dir) || fs::is_empty(dir, ec)) << dir;
    // And an export now goes through.
    auto r = lxc({"export", "sn-e", out.path() + "/again.tar.gz"});
    EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
}

// An image import killed halfway: after the restart no half-written file,
// no image row and no pool volume remain, and the same import then works.
TEST_F(StorageCrash, KillDuringImageImportLeavesNothing) {
    // An uncompressed image with 300 MiB of incompressible data, so the
    // server spends a while writing it.
    TempDir work("lodge-crash-image");
    const auto meta = work.path() + "/meta", root = work.path() + "/rootfs";
    fs::create_directories(meta);
    fs::create_directories(root);
    std::ofstream(meta + "/metadata.yaml") << "architecture: x86_64\ncreation_date: 1764000000\nproperties:\n"
                                              "  os: busybox\n  release: \"big\"\n";
    ASSERT_EQ(run({"dd", "if=/dev/urandom", "of=" + root + "/big", "bs=1M", "count=300", "status=none"}).status, 0);
    const auto image = work.path() + "/big.tar";
    ASSERT_EQ(run({"tar", "-cf", image, "-C", meta, "metadata.yaml", "-C", work.path(), "rootfs"}).status, 0);

    auto uploads = [&] {
        std::vector<std::string> found;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(state_.path() + "/images", ec))
            if (e.path().filename().string().rfind(".upload-", 0) == 0) found.push_back(e.path());
        return found;
    };
    kill_during({"image", "import", image, "--alias", "big"}, [&] { return !uploads().empty(); });
    EXPECT_TRUE(uploads().empty());
    EXPECT_NE(lodged_->log().find("left by an import that did not finish"), std::string::npos) << lodged_->log();
    EXPECT_EQ(lodged_->request("GET", "/1.0/images").json()["metadata"], nlohmann::json::array());
    EXPECT_TRUE(fs::is_empty(state_.path() + "/images"));

    auto r = lxc({"image", "import", image, "--alias", "big"});
    EXPECT_EQ(r.status, 0) << r.err << lodged_->log();
}

} // namespace
} // namespace lodge::test
