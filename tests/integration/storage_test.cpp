// The storage drivers' conformance suite: every driver keeps a container's
// tree exactly (owners, modes, xattrs, ACLs, capabilities, hardlinks, holes,
// device nodes, symlinks) through snapshot, restore, copy, rename and
// delete, and never follows a symlink out of a volume.
#include "storage/driver.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"
#include "tests/integration/storage_tree.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using lodge::Error;
using lodge::storage::Driver;
using lodge::storage::PoolSpec;
using lodge::storage::Volume;
using lodge::storage::VolumeType;
using lodge::test::TempDir;
using lodge::test::fill_like_container;
using lodge::test::manifest;
using lodge::test::modify;
using lodge::test::must;
using lodge::test::same_tree;
using lodge::test::tool;
using lodge::test::write_file;

// Loop devices backed by files under `dir` (from sysfs, as losetup -a does).
std::vector<std::string> loops_backed_under(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& dev : fs::directory_iterator("/sys/block", ec)) {
        const std::string backing = lodge::read_file_if_exists(dev.path().string() + "/loop/backing_file");
        if (backing.rfind(dir, 0) == 0) out.push_back(dev.path().filename().string() + " " + backing);
    }
    return out;
}

// A pool in a temporary directory; unmounted and removed however the test
// ends (a btrfs pool's loop device goes with its mount).
class TestPool {
public:
    explicit TestPool(const std::string& driver, std::map<std::string, std::string> config = {})
        : dir_("lodge-storage") {
        if (driver == "btrfs" && !config.count("source") && !config.count("size")) config["size"] = "1GiB";
        driver_ = lodge::storage::make_driver({"pool1", driver, std::move(config)}, pools_dir(), disks_dir());
        driver_->create();
    }
    ~TestPool() {
        try {
            if (driver_) driver_->unmount();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "unmounting the test pool: " << e.what();
        }
        // The loop device goes when the lazily unmounted filesystem is released.
        lodge::test::wait_until([&] { return loops_backed_under(dir_.path()).empty(); }, 10);
    }
    TestPool(const TestPool&) = delete;
    TestPool& operator=(const TestPool&) = delete;

    Driver& operator*() { return *driver_; }
    Driver* operator->() { return driver_.get(); }
    std::string pools_dir() const { return dir_.path() + "/pools"; }
    std::string disks_dir() const { return dir_.path() + "/disks"; }
    const std::string& scratch() const { return dir_.path(); }

private:
    TempDir dir_;
    std::unique_ptr<Driver> driver_;
};

std::string mountinfo() { return lodge::read_file("/proc/self/mountinfo"); }

class StorageConformance : public ::testing::TestWithParam<std::string> {
protected:
    bool btrfs() const { return GetParam() == "btrfs"; }
};

const Volume web{VolumeType::Container, "st-web", {}};

TEST_P(StorageConformance, SnapshotAndRestoreKeepEverything) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    const std::string root = pool->path(web);
    fill_like_container(root);
    if (btrfs()) {
        // Guests make subvolumes of their own (systemd's /var/lib/machines).
        tool({"btrfs", "-q", "subvolume", "create", root + "/machines"});
        write_file(root + "/machines/inside", "in a nested subvolume");
    }
    const auto before = manifest(root);
    ASSERT_GT(before.size(), 25u);

    const Volume snap = web.snapshot_of("snap0");
    pool->create_snapshot(snap);
    EXPECT_TRUE(same_tree(manifest(pool->path(snap)), before));

    modify(root);
    ASSERT_NE(manifest(root), before);

    pool->restore_snapshot(snap);
    EXPECT_TRUE(same_tree(manifest(root), before));
    EXPECT_TRUE(pool->exists(snap));
    EXPECT_TRUE(same_tree(manifest(pool->path(snap)), before));
    EXPECT_TRUE(pool->remove_leftovers().empty());
}

TEST_P(StorageConformance, CopiesAreFaithful) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    fill_like_container(pool->path(web));
    const auto original = manifest(pool->path(web));

    const Volume copy{VolumeType::Container, "st-copy", {}};
    pool->copy_volume(copy, web);
    EXPECT_TRUE(same_tree(manifest(pool->path(copy)), original));

    pool->create_snapshot(web.snapshot_of("s1"));
    modify(pool->path(web));
    const Volume from_snap{VolumeType::Custom, "st-from-snap", {}};
    pool->copy_volume(from_snap, web.snapshot_of("s1"));
    EXPECT_TRUE(same_tree(manifest(pool->path(from_snap)), original));
    // A copy is writable and independent of its source.
    write_file(pool->path(from_snap) + "/etc/passwd", "mine");
    EXPECT_TRUE(same_tree(manifest(pool->path(web.snapshot_of("s1"))), original));

    // Copying a snapshot as a snapshot of another volume (instance copies
    // that take their snapshots along).
    pool->copy_volume(copy.snapshot_of("s1"), web.snapshot_of("s1"));
    EXPECT_TRUE(same_tree(manifest(pool->path(copy.snapshot_of("s1"))), original));

    try {
        pool->copy_volume(copy, web);
        ADD_FAILURE() << "copying onto an existing volume succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 409) << e.what();
    }
    try {
        pool->copy_volume({VolumeType::Container, "st-other", {}}, {VolumeType::Container, "st-missing", {}});
        ADD_FAILURE() << "copying a missing volume succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 404) << e.what();
    }
    EXPECT_FALSE(pool->exists({VolumeType::Container, "st-other", {}}));
    EXPECT_TRUE(pool->remove_leftovers().empty());
}

TEST_P(StorageConformance, RenameTakesSnapshotsAlong) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    write_file(pool->path(web) + "/file", "one");
    pool->create_snapshot(web.snapshot_of("a"));
    pool->create_snapshot(web.snapshot_of("b"));

    pool->rename_volume(web, "st-renamed");
    const Volume renamed{VolumeType::Container, "st-renamed", {}};
    EXPECT_FALSE(pool->exists(web));
    EXPECT_FALSE(pool->exists(web.snapshot_of("a")));
    EXPECT_TRUE(pool->exists(renamed));
    EXPECT_TRUE(pool->exists(renamed.snapshot_of("a")));
    EXPECT_TRUE(pool->exists(renamed.snapshot_of("b")));
    EXPECT_EQ(lodge::read_file(pool->path(renamed.snapshot_of("a")) + "/file"), "one");

    pool->rename_snapshot(renamed.snapshot_of("a"), "c");
    EXPECT_FALSE(pool->exists(renamed.snapshot_of("a")));
    EXPECT_TRUE(pool->exists(renamed.snapshot_of("c")));

    auto listed = pool->list_volumes();
    std::vector<std::string> names;
    for (const auto& v : listed) names.push_back(v.name + "/" + v.snapshot);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"st-renamed/", "st-renamed/b", "st-renamed/c"}));

    pool->create_volume(web);
    try {
        pool->rename_volume(web, "st-renamed");
        ADD_FAILURE() << "renaming onto an existing volume succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 409) << e.what();
    }
}

TEST_P(StorageConformance, DeleteTakesSnapshotsAlong) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    fill_like_container(pool->path(web));
    pool->create_snapshot(web.snapshot_of("a"));
    pool->create_snapshot(web.snapshot_of("b"));
    pool->delete_snapshot(web.snapshot_of("a"));
    EXPECT_FALSE(pool->exists(web.snapshot_of("a")));
    EXPECT_TRUE(pool->exists(web.snapshot_of("b")));

    pool->delete_volume(web);
    EXPECT_FALSE(pool->exists(web));
    EXPECT_FALSE(pool->exists(web.snapshot_of("b")));
    EXPECT_TRUE(pool->list_volumes().empty());
    EXPECT_FALSE(fs::exists(pool->mount_point() + "/containers-snapshots/" + web.name));
    try {
        pool->delete_volume(web);
        ADD_FAILURE() << "deleting a missing volume succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 404) << e.what();
    }
}

TEST_P(StorageConformance, UsageGrowsWithData) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    const auto empty = pool->volume_usage(web);
    std::string data(8 << 20, 'u');
    for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i >> 12);
    write_file(pool->path(web) + "/big", data);
    ::sync();
    const auto full = pool->volume_usage(web);
    EXPECT_GE(full, empty + (8u << 20)) << "empty " << empty << " full " << full;
    EXPECT_LT(full, empty + (10u << 20)) << "empty " << empty << " full " << full;
    // A hardlink adds no data.
    must(::link((pool->path(web) + "/big").c_str(), (pool->path(web) + "/big2").c_str()) == 0, "link");
    ::sync();
    EXPECT_LT(pool->volume_usage(web), empty + (10u << 20));

    auto usage = pool->usage();
    EXPECT_GT(usage.total, 0u);
    EXPECT_GT(usage.used, 0u);
    EXPECT_LE(usage.used, usage.total);
}

TEST_P(StorageConformance, Quota) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    if (!btrfs()) {
        EXPECT_FALSE(pool->set_quota(web, 10 << 20));
        return;
    }
    ASSERT_TRUE(pool->set_quota(web, 10 << 20));
    // A restored volume keeps its limit.
    pool->create_snapshot(web.snapshot_of("before"));
    pool->restore_snapshot(web.snapshot_of("before"));
    const std::string path = pool->path(web) + "/fill";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    std::string chunk(1 << 20, 'q');
    int err = 0;
    for (int i = 0; i < 40 && !err; ++i)
        if (::write(fd, chunk.data(), chunk.size()) < 0 || (i % 4 == 3 && ::fsync(fd) < 0)) err = errno;
    if (!err && ::fsync(fd) < 0) err = errno;
    ::close(fd);
    EXPECT_TRUE(err == EDQUOT || err == ENOSPC) << "writing 40 MiB under a 10 MiB quota: " << std::strerror(err);

    // Without the limit the same write goes through.
    ASSERT_TRUE(pool->set_quota(web, std::nullopt));
    ::unlink(path.c_str());
    ::sync();
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), ssize_t(chunk.size()));
    EXPECT_EQ(::fsync(fd), 0);
    ::close(fd);
    EXPECT_GE(pool->volume_usage(web), 20u << 20);
}

TEST_P(StorageConformance, RemoveLeftoversFindsHalfCopies) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    pool->create_snapshot(web.snapshot_of("keep"));
    // What an interrupted copy and an interrupted snapshot leave.
    const std::string half_copy = pool->mount_point() + "/containers/.lodge-tmp-st-web2-0123456789ab";
    const std::string half_snap = pool->mount_point() + "/containers-snapshots/st-web/.lodge-tmp-s2-ba9876543210";
    if (btrfs()) {
        tool({"btrfs", "-q", "subvolume", "create", half_copy});
        tool({"btrfs", "-q", "subvolume", "create", half_copy + "/nested"});
    } else {
        ASSERT_EQ(::mkdir(half_copy.c_str(), 0700), 0);
        ASSERT_EQ(::mkdir((half_copy + "/nested").c_str(), 0700), 0);
    }
    write_file(half_copy + "/nested/file", "half");
    ASSERT_EQ(::mkdir(half_snap.c_str(), 0700), 0);

    auto listed = pool->list_volumes();
    EXPECT_EQ(listed.size(), 2u) << "temporary entries must not be listed as volumes";

    auto removed = pool->remove_leftovers();
    std::sort(removed.begin(), removed.end());
    std::vector<std::string> expected{half_copy, half_snap};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(removed, expected);
    EXPECT_FALSE(fs::exists(half_copy));
    EXPECT_FALSE(fs::exists(half_snap));
    EXPECT_TRUE(pool->exists(web));
    EXPECT_TRUE(pool->exists(web.snapshot_of("keep")));
}

TEST_P(StorageConformance, SnapshotsAreReadOnlyWhereTheDriverCan) {
    if (!btrfs()) GTEST_SKIP() << "dir snapshots are plain directories";
    TestPool pool(GetParam());
    pool->create_volume(web);
    write_file(pool->path(web) + "/file", "one");
    pool->create_snapshot(web.snapshot_of("ro"));
    int fd = ::open((pool->path(web.snapshot_of("ro")) + "/other").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    EXPECT_LT(fd, 0);
    EXPECT_EQ(errno, EROFS);
    if (fd >= 0) ::close(fd);
    // Read-only snapshots still restore, copy and delete.
    write_file(pool->path(web) + "/file", "two");
    pool->restore_snapshot(web.snapshot_of("ro"));
    EXPECT_EQ(lodge::read_file(pool->path(web) + "/file"), "one");
    write_file(pool->path(web) + "/file", "writable after restore");
    pool->delete_snapshot(web.snapshot_of("ro"));
    EXPECT_FALSE(pool->exists(web.snapshot_of("ro")));
}

TEST_P(StorageConformance, SymlinksInVolumesAreNeverFollowed) {
    TestPool pool(GetParam());
    // Host files a hostile guest points at.
    const std::string outside = pool.scratch() + "/outside";
    ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
    write_file(outside + "/secret", "host data");
    const auto outside_before = manifest(outside);

    pool->create_volume(web);
    const std::string root = pool->path(web);
    ASSERT_EQ(::symlink(outside.c_str(), (root + "/escape").c_str()), 0);
    ASSERT_EQ(::symlink((outside + "/secret").c_str(), (root + "/secret").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (root + "/etc").c_str()), 0);

    pool->create_snapshot(web.snapshot_of("s"));
    const Volume copy{VolumeType::Custom, "st-copy", {}};
    pool->copy_volume(copy, web);
    for (const auto& dir : {pool->path(web.snapshot_of("s")), pool->path(copy)}) {
        EXPECT_TRUE(fs::is_symlink(dir + "/escape"));
        EXPECT_EQ(fs::read_symlink(dir + "/escape"), outside);
        EXPECT_TRUE(fs::is_symlink(dir + "/etc"));
        EXPECT_EQ(fs::read_symlink(dir + "/etc"), "/etc");
    }
    pool->restore_snapshot(web.snapshot_of("s"));
    EXPECT_EQ(pool->volume_usage(web), pool->volume_usage(web)); // walks, follows nothing
    pool->delete_volume(copy);
    pool->delete_volume(web);
    EXPECT_EQ(manifest(outside), outside_before);
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}

TEST_P(StorageConformance, BadRequestsChangeNothing) {
    TestPool pool(GetParam());
    pool->create_volume(web);
    const auto status = [&](const std::function<void()>& f) {
        try {
            f();
        } catch (const Error& e) {
            return e.status();
        }
        return 0;
    };
    EXPECT_EQ(status([&] { pool->create_volume(web); }), 409);
    EXPECT_EQ(status([&] { pool->create_volume({VolumeType::Container, "../escape", {}}); }), 400);
    EXPECT_EQ(status([&] { pool->create_volume({VolumeType::Container, ".lodge-tmp-x", {}}); }), 400);
    EXPECT_EQ(status([&] { pool->create_snapshot(web.snapshot_of("a/b")); }), 400);
    EXPECT_EQ(status([&] { pool->create_snapshot({VolumeType::Container, "st-none", "s"}); }), 404);
    EXPECT_EQ(status([&] { pool->restore_snapshot(web.snapshot_of("missing")); }), 404);
    EXPECT_EQ(status([&] { pool->delete_snapshot(web.snapshot_of("missing")); }), 404);
    EXPECT_EQ(status([&] { pool->rename_volume(web, "bad/name"); }), 400);
    EXPECT_EQ(pool->list_volumes().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Storage, StorageConformance, ::testing::Values("dir", "btrfs"),
                         [](const auto& info) { return info.param; });

TEST(StorageDrivers, UnknownAndUnavailableDriversAreRefused) {
    TempDir dir("lodge-storage");
    const auto message = [&](const std::string& driver) -> std::string {
        try {
            lodge::storage::make_driver({"pool1", driver, {}}, dir.path() + "/pools", dir.path() + "/disks");
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400);
            return e.what();
        }
        return "accepted";
    };
    EXPECT_NE(message("nope").find("Unknown storage pool driver"), std::string::npos);
    for (const char* driver : {"zfs", "lvm", "ceph", "cephfs"})
        EXPECT_NE(message(driver).find("not available on this host"), std::string::npos) << driver;
    EXPECT_NE(message("lvm").find("device-mapper"), std::string::npos);
    auto available = lodge::storage::available_drivers();
    EXPECT_NE(std::find(available.begin(), available.end(), "dir"), available.end());
    EXPECT_NE(std::find(available.begin(), available.end(), "btrfs"), available.end());
    EXPECT_EQ(std::find(available.begin(), available.end(), "zfs"), available.end());
}

TEST(StorageDir, SourceElsewhereIsThePool) {
    TempDir dir("lodge-storage");
    const std::string source = dir.path() + "/elsewhere";
    auto pool = lodge::storage::make_driver({"pool1", "dir", {{"source", source}}}, dir.path() + "/pools",
                                            dir.path() + "/disks");
    pool->create();
    EXPECT_EQ(pool->spec().config.at("source"), source);
    EXPECT_EQ(pool->mount_point(), source);
    EXPECT_EQ(fs::read_symlink(dir.path() + "/pools/pool1"), source);
    pool->create_volume(web);
    EXPECT_TRUE(fs::is_directory(source + "/containers/st-web"));
    pool->delete_volume(web);
    pool->destroy();
    EXPECT_TRUE(fs::is_empty(source));
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() + "/pools/pool1")));
}

// Unmounts a path when the test ends, however it ends.
struct UnmountGuard {
    std::string path;
    ~UnmountGuard() { ::umount2(path.c_str(), MNT_DETACH); }
};

TEST(StorageBtrfs, LoopPoolMountsOnceAndLeavesNothing) {
    TempDir dir("lodge-storage");
    const std::string pools = dir.path() + "/pools", disks = dir.path() + "/disks";
    const std::string mount_point = pools + "/pool1";
    {
        UnmountGuard guard{mount_point};
        auto pool = lodge::storage::make_driver({"pool1", "btrfs", {{"size", "300MiB"}}}, pools, disks);
        pool->create();
        EXPECT_EQ(pool->spec().config.at("source"), disks + "/pool1.img");
        EXPECT_EQ(pool->spec().config.at("size"), "300MiB");
        EXPECT_EQ(pool->mount_point(), mount_point);
        pool->create_volume(web);
        write_file(pool->path(web) + "/file", "kept");

        // lodged restarting: a new driver object for the same pool.
        auto again = lodge::storage::make_driver({"pool1", "btrfs", pool->spec().config}, pools, disks);
        again->mount();
        again->mount();
        const auto info = mountinfo();
        size_t count = 0;
        for (size_t pos = 0; (pos = info.find(" " + mount_point + " ", pos)) != std::string::npos; ++pos) ++count;
        EXPECT_EQ(count, 1u) << "mounted twice";

        again->unmount();
        EXPECT_EQ(mountinfo().find(mount_point), std::string::npos);
        again->mount();
        EXPECT_EQ(lodge::read_file(again->path(web) + "/file"), "kept");
        again->delete_volume(web);
        again->destroy();
        EXPECT_FALSE(fs::exists(disks + "/pool1.img"));
        EXPECT_FALSE(fs::exists(mount_point));
    }
    EXPECT_EQ(mountinfo().find(dir.path()), std::string::npos);
    // The loop device goes once the lazily unmounted filesystem is released.
    EXPECT_TRUE(lodge::test::wait_until([&] { return loops_backed_under(dir.path()).empty(); }, 10));

    // A size btrfs cannot hold is refused before anything is made.
    auto tiny = lodge::storage::make_driver({"pool2", "btrfs", {{"size", "10MiB"}}}, pools, disks);
    try {
        tiny->create();
        ADD_FAILURE() << "a 10MiB btrfs pool was created";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400) << e.what();
    }
    EXPECT_FALSE(fs::exists(disks + "/pool2.img"));
    try {
        lodge::storage::make_driver({"pool3", "btrfs", {{"size", "lots"}}}, pools, disks)->create();
        ADD_FAILURE() << "size 'lots' was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400) << e.what();
    }
}

TEST(StorageBtrfs, PoolOnAnExistingBtrfsDirectory) {
    // A host btrfs (itself a loop pool) holding the pool under test.
    TestPool host("btrfs");
    const std::string source = host->mount_point() + "/lodge-pool";
    TempDir dir("lodge-storage");
    auto pool = lodge::storage::make_driver({"pool1", "btrfs", {{"source", source}}}, dir.path() + "/pools",
                                            dir.path() + "/disks");
    pool->create();
    EXPECT_EQ(pool->mount_point(), source);
    EXPECT_EQ(fs::read_symlink(dir.path() + "/pools/pool1"), source);
    pool->mount();
    pool->create_volume(web);
    fill_like_container(pool->path(web));
    const auto before = manifest(pool->path(web));
    pool->create_snapshot(web.snapshot_of("s"));
    modify(pool->path(web));
    pool->restore_snapshot(web.snapshot_of("s"));
    EXPECT_TRUE(same_tree(manifest(pool->path(web)), before));
    // A guest's own subvolume inside its volume goes with it.
    tool({"btrfs", "-q", "subvolume", "create", pool->path(web) + "/guest-subvolume"});
    pool->delete_volume(web);
    EXPECT_TRUE(pool->list_volumes().empty());
    pool->destroy();
    EXPECT_TRUE(fs::is_empty(source));

    // Not on btrfs: refused, naming the problem.
    const std::string ext4 = dir.path() + "/plain";
    ASSERT_EQ(::mkdir(ext4.c_str(), 0755), 0);
    auto bad = lodge::storage::make_driver({"pool2", "btrfs", {{"source", ext4}}}, dir.path() + "/pools",
                                           dir.path() + "/disks");
    try {
        bad->create();
        ADD_FAILURE() << "a btrfs pool on ext4 was created";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("not on a btrfs filesystem"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() + "/pools/pool2")));
}

TEST(StorageBtrfs, CopiesAreSnapshots) {
    TestPool pool("btrfs");
    const Volume image{VolumeType::Image, "0123abcd", {}};
    pool->create_volume(image);
    std::string data(64 << 20, 'i');
    write_file(pool->path(image) + "/rootfs.bin", data);
    ::sync();
    const auto used_before = pool->usage().used;
    pool->copy_volume(web, image);
    ::sync();
    // An O(1) copy shares the image's extents: the pool barely grows.
    EXPECT_LT(pool->usage().used, used_before + (8u << 20));
    EXPECT_EQ(lodge::read_file(pool->path(web) + "/rootfs.bin").size(), data.size());
}

} // namespace
