// The storage drivers' conformance suite: every driver keeps a container's
// tree exactly (owners, modes, xattrs, ACLs, capabilities, hardlinks, holes,
// device nodes, symlinks) through snapshot, restore, copy, rename and
// delete, and never follows a symlink out of a volume.
#include "storage/copy.hpp"
#include "storage/driver.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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

std::string hex(const std::string& s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string content_hash(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return "unreadable";
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        for (ssize_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
    ::close(fd);
    return std::to_string(h);
}

std::string xattrs_of(const std::string& path) {
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
    if (n <= 0) return "";
    std::vector<std::string> list;
    for (ssize_t pos = 0; pos < n; pos += static_cast<ssize_t>(std::strlen(names + pos)) + 1) list.emplace_back(names + pos);
    std::sort(list.begin(), list.end());
    std::string out;
    for (const auto& name : list) {
        char value[4096];
        ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
        out += " " + name + "=" + (v >= 0 ? hex(std::string(value, static_cast<size_t>(v))) : "?");
    }
    return out;
}

// Everything a faithful copy keeps, one line per path (relative to root).
std::map<std::string, std::string> manifest(const std::string& root) {
    std::map<std::string, std::string> out;
    std::map<ino_t, std::string> first_link;
    std::vector<std::string> paths{""};
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
        paths.push_back(it->path().lexically_relative(root).string());
    std::sort(paths.begin(), paths.end());
    for (const auto& rel : paths) {
        const std::string path = rel.empty() ? root : root + "/" + rel;
        struct stat st {};
        if (::lstat(path.c_str(), &st) < 0) {
            out[rel] = "vanished";
            continue;
        }
        std::ostringstream line;
        line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " mtime "
             << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
        if (S_ISREG(st.st_mode)) line << " size " << st.st_size << " data " << content_hash(path);
        if (S_ISREG(st.st_mode) && rel.find("sparse") != std::string::npos) line << " blocks " << st.st_blocks;
        if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(path).string();
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line << " dev " << major(st.st_rdev) << "," << minor(st.st_rdev);
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto [it, fresh] = first_link.try_emplace(st.st_ino, rel);
            line << " links " << st.st_nlink << " group " << it->second;
        }
        line << xattrs_of(path);
        out[rel] = line.str();
    }
    return out;
}

// Equal manifests, or the paths that differ and how.
::testing::AssertionResult same_tree(const std::map<std::string, std::string>& got,
                                     const std::map<std::string, std::string>& want) {
    std::string diff;
    for (const auto& [path, line] : want) {
        auto it = got.find(path);
        if (it == got.end()) diff += "\n  missing  " + path + ": " + line;
        else if (it->second != line) diff += "\n  differs  " + path + ": " + it->second + "\n  expected " + path + ": " + line;
    }
    for (const auto& [path, line] : got)
        if (!want.count(path)) diff += "\n  extra    " + path + ": " + line;
    if (diff.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "trees differ:" << diff;
}

void must(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    must(fd >= 0, "creating " + path);
    must(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()), "writing " + path);
    ::close(fd);
}

void own(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
    must(::lchown(path.c_str(), uid, gid) == 0, "chown " + path);
    must(::chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void tool(const std::vector<std::string>& argv) {
    auto r = lodge::test::run(argv);
    if (r.status != 0) throw std::runtime_error(argv[0] + " failed: " + r.err);
}

// Fills a volume the way a container's root filesystem looks, ids in a
// container's host range.
void fill_like_container(const std::string& root) {
    for (const char* dir : {"etc", "usr", "usr/bin", "usr/lib", "home", "home/user", "data", "data/shared", "dev", "run"})
        must(::mkdir((root + "/" + dir).c_str(), 0755) == 0, std::string("mkdir ") + dir);
    write_file(root + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
    own(root + "/etc/passwd", 100000, 100000, 0644);
    write_file(root + "/usr/bin/su", std::string(20000, 'x'));
    own(root + "/usr/bin/su", 100000, 100000, 04755);
    write_file(root + "/usr/bin/wall", "wall");
    own(root + "/usr/bin/wall", 100000, 100005, 02755);
    write_file(root + "/usr/bin/ping", "ping");
    own(root + "/usr/bin/ping", 100000, 100000, 0755);
    tool({"setcap", "cap_net_raw+ep", root + "/usr/bin/ping"});
    own(root + "/home/user", 101000, 101000, 0700);
    write_file(root + "/home/user/notes", "private", 0600);
    own(root + "/home/user/notes", 101000, 101000, 0600);
    must(::setxattr((root + "/home/user/notes").c_str(), "user.comment", "hello", 5, 0) == 0, "setxattr user");
    must(::setxattr((root + "/home/user/notes").c_str(), "trusted.lodge", "t", 1, 0) == 0, "setxattr trusted");
    must(::setxattr((root + "/home/user").c_str(), "user.dir", "d", 1, 0) == 0, "setxattr on a directory");
    write_file(root + "/data/acl-file", "acl");
    tool({"setfacl", "-m", "u:100007:rw,g:100009:r", root + "/data/acl-file"});
    tool({"setfacl", "-d", "-m", "u:100008:rwx", root + "/data/shared"});
    tool({"setfacl", "-m", "u:100008:rwx", root + "/data/shared"});
    write_file(root + "/data/a", "linked contents");
    own(root + "/data/a", 100000, 100000, 0640);
    must(::link((root + "/data/a").c_str(), (root + "/data/b").c_str()) == 0, "link b");
    must(::link((root + "/data/a").c_str(), (root + "/usr/lib/c").c_str()) == 0, "link c");
    {
        int fd = ::open((root + "/data/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, "sparse");
        std::string block(65536, 's');
        must(::pwrite(fd, block.data(), block.size(), 0) == 65536, "sparse head");
        must(::pwrite(fd, block.data(), block.size(), 64 << 20) == 65536, "sparse middle");
        must(::ftruncate(fd, 100 << 20) == 0, "sparse size");
        ::close(fd);
    }
    std::string blob(3 << 20, '\0');
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 2654435761u) >> 13);
    write_file(root + "/data/blob", blob);
    write_file(root + "/data/empty", "");
    write_file(root + "/data/no-access", "x", 0);
    own(root + "/data/no-access", 100000, 100000, 0);
    must(::mknod((root + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod chr");
    must(::mknod((root + "/dev/loop7").c_str(), S_IFBLK | 0660, makedev(7, 7)) == 0, "mknod blk");
    own(root + "/dev/loop7", 100000, 100006, 0660);
    must(::mkfifo((root + "/run/initctl").c_str(), 0600) == 0, "mkfifo");
    must(::mknod((root + "/run/socket").c_str(), S_IFSOCK | 0777, 0) == 0, "mknod sock");
    must(::symlink("usr/lib", (root + "/lib").c_str()) == 0, "relative symlink");
    must(::symlink("/etc/passwd", (root + "/abs-link").c_str()) == 0, "absolute symlink");
    must(::symlink("/nonexistent/thing", (root + "/dangling").c_str()) == 0, "dangling symlink");
    must(::symlink("../../../../../etc", (root + "/data/up").c_str()) == 0, "dotdot symlink");
    must(::lchown((root + "/lib").c_str(), 100000, 100000) == 0, "lchown link");
    // Times a copy must keep, directories last (their entries touch them).
    const timespec old[2] = {{1000000000, 5}, {1000000000, 123456789}};
    for (const char* p : {"etc/passwd", "data/blob", "dangling", "data", "etc"})
        must(::utimensat(AT_FDCWD, (root + "/" + p).c_str(), old, AT_SYMLINK_NOFOLLOW) == 0, "utimensat");
}

// What a guest does to its files after a snapshot.
void modify(const std::string& root) {
    write_file(root + "/etc/passwd", "changed\n");
    fs::remove(root + "/data/blob");
    fs::remove(root + "/data/b");
    write_file(root + "/data/new-file", "new");
    fs::remove_all(root + "/home/user");
    must(::chmod((root + "/usr/bin/su").c_str(), 0755) == 0, "chmod su");
    must(::removexattr((root + "/usr/bin/ping").c_str(), "security.capability") == 0, "drop capability");
    write_file(root + "/data/sparse", "no longer sparse");
}

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

TEST(StorageBtrfs, LoopPoolMountsOnceAndLeavesNothing) {
    TempDir dir("lodge-storage");
    const std::string pools = dir.path() + "/pools", disks = dir.path() + "/disks";
    const std::string mount_point = pools + "/pool1";
    {
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

// Not a pass/fail test: prints how long copy_tree takes against `cp -a`
// on a 1 GiB tree of mixed files (warm cache, alternating runs). Run with
// --gtest_also_run_disabled_tests --gtest_filter='StorageBench.*'.
TEST(StorageBench, DISABLED_CopyTreeAgainstCpA) {
    TempDir dir("lodge-storage-bench");
    const std::string tree = dir.path() + "/tree";
    ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
    std::string block(1 << 20, '\0');
    std::uint64_t x = 88172645463325252ULL;
    for (auto& c : block) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c = static_cast<char>(x);
    }
    const auto make = [&](const std::string& path, size_t bytes, size_t salt) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, path);
        for (size_t done = 0; done < bytes;) {
            size_t n = std::min(bytes - done, block.size() - salt % 4096);
            must(::write(fd, block.data() + salt % 4096, n) == ssize_t(n), path);
            done += n;
        }
        ::close(fd);
    };
    std::uint64_t total = 0;
    for (int i = 0; i < 4; ++i, total += 128 << 20) make(tree + "/big" + std::to_string(i), 128 << 20, i);
    for (int d = 0; d < 50; ++d) {
        const std::string sub = tree + "/medium" + std::to_string(d);
        must(::mkdir(sub.c_str(), 0755) == 0, sub);
        for (int i = 0; i < 20; ++i, total += 256 << 10) make(sub + "/f" + std::to_string(i), 256 << 10, d * 20 + i);
    }
    for (int d = 0; d < 300; ++d) {
        const std::string sub = tree + "/small" + std::to_string(d);
        must(::mkdir(sub.c_str(), 0755) == 0, sub);
        for (int i = 0; i < 100; ++i) {
            const size_t size = (d * 100 + i) * 2654435761u % 8192;
            make(sub + "/f" + std::to_string(i), size, i);
            total += size;
            if (i % 10 == 0) must(::symlink("f0", (sub + "/l" + std::to_string(i)).c_str()) == 0, "symlink");
            if (i % 20 == 1) must(::link((sub + "/f1").c_str(), (sub + "/h" + std::to_string(i)).c_str()) == 0, "link");
        }
    }
    for (int i = 0; i < 2; ++i) {
        const std::string path = tree + "/sparse" + std::to_string(i);
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, path);
        for (off_t off = 0; off < (1 << 30); off += 64 << 20) must(::pwrite(fd, block.data(), block.size(), off) > 0, path);
        must(::ftruncate(fd, 1 << 30) == 0, path);
        ::close(fd);
        total += 16 << 20;
    }
    ::sync();
    std::printf("tree: %.0f MiB of data in %s\n", double(total) / (1 << 20), tree.c_str());
    const auto timed = [&](const std::string& label, const std::function<void()>& f) {
        const std::string target = dir.path() + "/copy";
        auto start = std::chrono::steady_clock::now();
        f();
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%-22s %6.2f s\n", label.c_str(), secs);
        std::fflush(stdout);
        fs::remove_all(target);
        ::sync();
    };
    const std::string target = dir.path() + "/copy";
    for (int round = 0; round < 3; ++round) {
        timed("cp -a", [&] { tool({"cp", "-a", tree, target}); });
        for (unsigned threads : {0u, 1u, 2u})
            timed("copy_tree threads=" + std::to_string(threads),
                  [&] { lodge::storage::copy_tree(tree, target, {threads}); });
        timed("cp -a + sync", [&] { tool({"cp", "-a", tree, target}); ::sync(); });
        timed("copy_tree 2 + sync", [&] { lodge::storage::copy_tree(tree, target, {2}); ::sync(); });
    }
}

} // namespace
