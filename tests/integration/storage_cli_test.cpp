// `lodge storage volume ...` and `lodge storage get/set/unset` against a
// real lodged, read like an admin's session, with LXD's own `lxc` on the
// same server as the reference for what lodge prints.
#include "tests/integration/lxc_session.hpp"

#include <gtest/gtest.h>

namespace lodge::test {
namespace {

class StorageCli : public LxcSession {
protected:
    StorageCli() : LxcSession("lodge-volcli") {}

    void SetUp() override {
        LxcSession::SetUp();
        greet_lxc();
    }

    // The command through both clients: same status, stdout and stderr.
    void same(const std::vector<std::string>& args) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        auto theirs = lxc(args);
        auto ours = lodge(args);
        EXPECT_EQ(ours.status == 0, theirs.status == 0) << shown << "\nlxc: " << theirs.err << "\nlodge: " << ours.err;
        EXPECT_EQ(ours.out, theirs.out) << shown;
        EXPECT_EQ(ours.err, theirs.err) << shown;
    }

    // Both fail with the same "Error: ..." line, and nothing changed.
    void same_error(const std::vector<std::string>& args) {
        std::string shown;
        for (const auto& a : args) shown += " " + a;
        auto before = lodged_->request("GET", "/1.0/storage-pools/default/volumes?recursion=1").json()["metadata"];
        auto theirs = lxc(args);
        auto ours = lodge(args);
        EXPECT_NE(theirs.status, 0) << shown;
        EXPECT_NE(ours.status, 0) << shown;
        EXPECT_EQ(ours.err, theirs.err) << shown;
        EXPECT_EQ(ours.out, "") << shown;
        EXPECT_EQ(lodged_->request("GET", "/1.0/storage-pools/default/volumes?recursion=1").json()["metadata"], before)
            << shown;
    }

    std::string sh(const std::string& name, const std::string& script) {
        auto r = lxc({"exec", name, "--", "sh", "-c", script});
        EXPECT_EQ(r.status, 0) << script << ": " << r.err;
        return r.out;
    }

    std::vector<std::vector<std::string>> listings(const std::string& pool) {
        return {{"storage", "volume", "list", pool},
                {"storage", "volume", "ls", pool, "--format", "csv"},
                {"storage", "volume", "list", pool, "--format", "json"},
                {"storage", "volume", "list", pool, "--format", "yaml"},
                {"storage", "volume", "list", pool, "--format", "compact"},
                {"storage", "volume", "list", pool, "-c", "tnu"},
                {"storage", "volume", "list", "local:" + pool, "-c", "n,d"}};
    }
};

// A custom volume's whole life through lodge: created, listed as lxc lists
// it, attached to a running instance that writes in it, snapshotted and
// restored, detached, renamed and deleted.
TEST_F(StorageCli, VolumeLifeThroughLodgeListedAsLxcListsIt) {
    auto r = lodge({"storage", "volume", "create", "default", "vc-data", "user.origin=test"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Storage volume vc-data created\n");
    for (const auto& cmd : listings("default")) same(cmd);
    EXPECT_NE(lodge({"storage", "volume", "list", "default", "--format", "csv"}).out.find("custom,vc-data,,filesystem,0\n"),
              std::string::npos);

    // Config: show, get, set, unset, as lxc sees them.
    same({"storage", "volume", "show", "default", "vc-data"});
    same({"storage", "volume", "show", "default", "custom/vc-data"});
    EXPECT_EQ(lodge({"storage", "volume", "get", "default", "vc-data", "user.origin"}).out, "test\n");
    ASSERT_EQ(lodge({"storage", "volume", "set", "default", "vc-data", "user.b", "two"}).status, 0);
    ASSERT_EQ(lodge({"storage", "volume", "set", "default", "vc-data", "user.c=3", "user.d=4"}).status, 0);
    EXPECT_EQ(lxc({"storage", "volume", "get", "default", "vc-data", "user.b"}).out, "two\n");
    same({"storage", "volume", "get", "default", "vc-data", "user.c"});
    same({"storage", "volume", "get", "default", "vc-data", "user.missing"});
    ASSERT_EQ(lodge({"storage", "volume", "unset", "default", "vc-data", "user.c"}).status, 0);
    same({"storage", "volume", "get", "default", "vc-data", "user.c"});
    // Gone, as LXD drops a key unset through lxc.
    EXPECT_FALSE(lodged_->request("GET", "/1.0/storage-pools/default/volumes/custom/vc-data")
                     .json()["metadata"]["config"]
                     .contains("user.c"));
    same({"storage", "volume", "show", "default", "vc-data"});
    r = lodge({"storage", "volume", "set", "default", "vc-data", "user.x"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "Error: Invalid key=value configuration: user.x\n");

    // Attached to a running instance, written from inside it.
    import(busybox_image_tarball(), "bb");
    r = lxc({"launch", "bb", "vc-v"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lodge({"storage", "volume", "attach", "default", "vc-data", "vc-v", "data", "/mnt/data"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    auto dev = lodged_->request("GET", "/1.0/instances/vc-v").json()["metadata"]["devices"]["data"];
    EXPECT_EQ(dev, (nlohmann::json{{"type", "disk"}, {"pool", "default"}, {"source", "vc-data"}, {"path", "/mnt/data"}}));
    r = lodge({"storage", "volume", "attach", "default", "vc-data", "vc-v", "data", "/mnt/other"});
    EXPECT_EQ(r.err, "Error: Device already exists: data\n");
    ASSERT_EQ(lxc({"restart", "-f", "vc-v"}).status, 0) << lodged_->log();
    sh("vc-v", "echo kept > /mnt/data/f");
    for (const auto& cmd : listings("default")) same(cmd); // used by the instance now

    // Snapshot, change, restore (the instance stopped, as for lxc).
    r = lodge({"storage", "volume", "snapshot", "default", "vc-data", "s1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(lodge({"storage", "volume", "snapshot", "default", "vc-data"}).status, 0); // named by the server
    sh("vc-v", "echo changed > /mnt/data/f; touch /mnt/data/new");
    same({"storage", "volume", "show", "default", "vc-data/s1"});
    same({"storage", "volume", "list", "default"});
    // lxc 5.0.2 refuses `storage volume info` on a server without the
    // storage_volume_state extension; lodge shows what there is.
    r = lodge({"storage", "volume", "info", "default", "vc-data"});
    EXPECT_NE(r.out.find("Name: vc-data\nType: custom\nContent type: filesystem\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nSnapshots:\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("| s1    |             | 0001/01/01 00:00 UTC |\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("| snap0 |             | 0001/01/01 00:00 UTC |\n"), std::string::npos) << r.out;
    ASSERT_EQ(lxc({"stop", "-f", "vc-v"}).status, 0);
    r = lodge({"storage", "volume", "restore", "default", "vc-data", "s1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    ASSERT_EQ(lxc({"start", "vc-v"}).status, 0) << lodged_->log();
    EXPECT_EQ(sh("vc-v", "cat /mnt/data/f; test -e /mnt/data/new || echo gone"), "kept\ngone\n");
    r = lodge({"storage", "volume", "rename", "default", "vc-data/snap0", "vc-data/second"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Renamed storage volume from \"vc-data/snap0\" to \"second\"\n");
    r = lodge({"storage", "volume", "delete", "default", "vc-data/second"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Storage volume vc-data/second deleted\n");

    // In use: neither deleted nor renamed, and nothing changes.
    same_error({"storage", "volume", "delete", "default", "vc-data"});
    same_error({"storage", "volume", "rename", "default", "vc-data", "vc-moved"});

    // Detached (the device found by pool and source), then renamed and deleted.
    r = lodge({"storage", "volume", "detach", "default", "vc-data", "vc-v"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_FALSE(lodged_->request("GET", "/1.0/instances/vc-v").json()["metadata"]["devices"].contains("data"));
    r = lodge({"storage", "volume", "detach", "default", "vc-data", "vc-v"});
    EXPECT_EQ(r.err, "Error: No device found for this storage volume\n");
    r = lodge({"storage", "volume", "rename", "default", "vc-data", "vc-moved"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Renamed storage volume from \"vc-data\" to \"vc-moved\"\n");
    EXPECT_EQ(lodge({"storage", "volume", "get", "default", "vc-moved", "user.origin"}).out, "test\n");
    r = lodge({"storage", "volume", "delete", "default", "vc-moved"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Storage volume vc-moved deleted\n");
    EXPECT_EQ(lodged_->request("GET", "/1.0/storage-pools/default/volumes/custom/vc-moved").status, 404);
    ASSERT_EQ(lxc({"delete", "-f", "vc-v"}).status, 0);
}

// What lxc refuses, lodge refuses with the same words, and nothing changes.
TEST_F(StorageCli, BadInputGetsLxcsErrors) {
    ASSERT_EQ(lodge({"storage", "volume", "create", "default", "vc-keep"}).status, 0);
    same_error({"storage", "volume", "list", "nope"});
    same_error({"storage", "volume", "create", "nope", "vc-x"});
    same_error({"storage", "volume", "create", "default", "vc-keep"});
    same_error({"storage", "volume", "create", "default", "vc-y", "novalue"});
    same_error({"storage", "volume", "show", "default", "vc-missing"});
    same_error({"storage", "volume", "show", "nope", "vc-keep"});
    same_error({"storage", "volume", "get", "default", "vc-missing", "user.a"});
    same_error({"storage", "volume", "set", "default", "vc-missing", "user.a=1"});
    same_error({"storage", "volume", "set", "default", "vc-keep/s1", "user.a=1"});
    same_error({"storage", "volume", "delete", "default", "vc-missing"});
    same_error({"storage", "volume", "rename", "default", "vc-missing", "vc-z"});
    same_error({"storage", "volume", "snapshot", "default", "vc-missing"});
    same_error({"storage", "volume", "snapshot", "default", "image/vc-keep"});
    same_error({"storage", "volume", "restore", "default", "vc-keep", "nosnap"});
    same_error({"storage", "volume", "attach", "default", "vc-keep", "vc-noinstance", "/mnt"});
    same_error({"storage", "volume", "attach", "default", "container/vc-keep", "vc-noinstance", "/mnt"});
    same_error({"storage", "volume", "list", "default", "-c", "nL"});
    same_error({"storage", "volume", "list", "default", "-c", "nq"});
    same_error({"storage", "volume", "list", "default", "-c", "n,"});
    same_error({"storage", "volume", "list", "local:"});
    // What needs an API extension lodged may not have: as lxc, whichever way.
    same({"storage", "volume", "list", "default", "--all-projects"});
    same({"storage", "volume", "list", "default", "-c", "nU"});
    EXPECT_EQ(lodge({"storage", "volume", "show", "default", "vc-keep"}).status, 0);
}

// Pool configuration through get/set/unset, read back by lxc.
TEST_F(StorageCli, PoolConfigGetSetUnset) {
    same({"storage", "get", "default", "source"});
    same({"storage", "get", "default", "volume.size"});
    auto r = lodge({"storage", "set", "default", "volume.size", "1GiB"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(lxc({"storage", "get", "default", "volume.size"}).out, "1GiB\n");
    same({"storage", "get", "default", "volume.size"});
    same({"storage", "show", "default"});
    ASSERT_EQ(lodge({"storage", "unset", "default", "volume.size"}).status, 0);
    same({"storage", "get", "default", "volume.size"});
    // What the server refuses changes nothing.
    auto before = lodged_->request("GET", "/1.0/storage-pools/default").json()["metadata"];
    r = lodge({"storage", "set", "default", "source=/elsewhere"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, lxc({"storage", "set", "default", "source=/elsewhere"}).err);
    EXPECT_EQ(lodged_->request("GET", "/1.0/storage-pools/default").json()["metadata"], before);
    r = lodge({"storage", "get", "nope", "source"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, lxc({"storage", "get", "nope", "source"}).err);
}

// Bash completion offers the volume verbs and, for the pool, the server's pools.
TEST_F(StorageCli, BashCompletionKnowsVolumeVerbs) {
    std::string script = std::string(LODGE_SOURCE_DIR) + "/cli/completion/lodge.bash";
    std::string probe = "source " + script +
                        "; t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _lodge; "
                        "echo \"${COMPREPLY[*]}\"; }; t lodge storage vol; t lodge storage volume sn; "
                        "t lodge storage volume attach ''; t lodge storage volume list default --f";
    auto r = run({"/usr/bin/env", "PATH=" + build_dir() + "/bin:/usr/bin:/bin", "LODGE_DIR=" + state_.path(),
                  "HOME=" + home_.path(), "bash", "-c", probe});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "volume\nsnapshot\ndefault\n--format\n");
}

} // namespace
} // namespace lodge::test
