// Backup uploads (POST /1.0/instances with a tarball) checked before any
// work starts: size bombs and oversized index.yaml files refused with the
// entry named and nothing left; and index.yaml as LXD 5.0 writes it read
// back into the instance and its snapshots.
#include "daemon/instances/backup_index.hpp"
#include "tests/unit/daemon/daemon_fixture.hpp"
#include "tests/unit/daemon/image_archives.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;

const std::string lxd_index = R"(name: c1
backend: btrfs
pool: default
snapshots:
- snap0
optimized: false
optimized_header: false
type: container
config:
  container:
    architecture: x86_64
    config:
      image.os: Debian
      volatile.base_image: 0123abcd
      volatile.idmap.next: '[]'
    devices:
      root:
        path: /
        pool: default
        type: disk
    ephemeral: false
    profiles:
    - default
    stateful: false
    description: ""
    created_at: 2026-11-24T01:21:47.46167698Z
    name: c1
    status: Stopped
    status_code: 102
    type: container
  snapshots:
  - architecture: x86_64
    config:
      image.os: Debian
    created_at: 2026-11-24T01:22:00.5Z
    devices: {}
    ephemeral: false
    expires_at: 0001-01-01T00:00:00Z
    name: snap0
    profiles:
    - default
    stateful: false
)";

TEST(BackupIndex, ReadsWhatLxdWrites) {
    const auto index = daemon::parse_backup_index(lxd_index);
    EXPECT_EQ(index.name, "c1");
    EXPECT_EQ(index.backend, "btrfs");
    EXPECT_EQ(index.pool, "default");
    EXPECT_FALSE(index.optimized);
    EXPECT_EQ(index.instance.config.at("image.os"), "Debian");
    EXPECT_EQ(index.instance.devices.at("root").at("pool"), "default");
    EXPECT_EQ(index.instance.profiles, std::vector<std::string>{"default"});
    ASSERT_EQ(index.snapshots.size(), 1u);
    EXPECT_EQ(index.snapshots[0].name, "snap0");
    EXPECT_EQ(index.snapshots[0].created_at, "2026-11-24T01:22:00.5Z");
}

TEST(BackupIndex, RefusesWhatIsNotAContainerBackup) {
    auto error_of = [](const std::string& yaml) {
        try {
            daemon::parse_backup_index(yaml);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_NE(error_of("- a list").find("not a mapping"), std::string::npos);
    EXPECT_NE(error_of("name: c1\ntype: virtual-machine\nconfig: {container: {}}\n").find("containers only"),
              std::string::npos);
    EXPECT_NE(error_of("name: c1\n").find("no config.container"), std::string::npos);
    EXPECT_NE(error_of("name: c1\nsnapshots: [../x]\nconfig: {container: {}}\n").find("Invalid snapshot name"),
              std::string::npos);
    EXPECT_NE(error_of("name: c1\nsnapshots: [a, a]\nconfig: {container: {}}\n").find("listed twice"),
              std::string::npos);
}

class BackupUploads : public DaemonFixture {
protected:
    daemon::HttpResponse upload(const std::string& body) {
        daemon::Request r;
        r.method = "POST";
        r.path = "/1.0/instances";
        r.body = body;
        r.headers["content-type"] = "application/octet-stream";
        r.headers["x-lxd-name"] = "bk-u";
        r.trusted = true;
        return daemon_->router().dispatch(r);
    }

    // A refused upload leaves no import directory and no instance.
    void expect_nothing_left() {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir_ + "/backups", ec)) ADD_FAILURE() << "left: " << e.path();
        EXPECT_EQ(call("GET", "/1.0/instances/bk-u").status, 404);
    }
};

const std::string small_index = "name: c1\npool: default\nconfig:\n  container:\n    profiles: [default]\n";

TEST_F(BackupUploads, SizeBombRefusedNamingTheEntry) {
    daemon_->images().set_max_unpacked_bytes(1 << 20);
    auto bomb = make_tar({{"backup/index.yaml", AE_IFREG, small_index},
                          {"backup/container/rootfs", AE_IFDIR},
                          {"backup/container/rootfs/zeros", AE_IFREG, "", 0644, 0, 0, false, {}, 0, 4 << 20}});
    ASSERT_LT(bomb.size(), 1u << 20);
    auto r = upload(bomb);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("backup/container/rootfs/zeros' makes the backup unpack to more than"), std::string::npos)
        << r.body;
    expect_nothing_left();
}

TEST_F(BackupUploads, OversizedIndexRefused) {
    auto big = make_tar({{"backup/index.yaml", AE_IFREG, "", 0644, 0, 0, false, {}, 0, (1 << 20) + 1},
                         {"backup/container/rootfs", AE_IFDIR}});
    auto r = upload(big);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("index.yaml' is too large"), std::string::npos) << r.body;
    expect_nothing_left();
}

TEST_F(BackupUploads, NotATarballRefused) {
    auto r = upload("this is not a tarball");
    EXPECT_EQ(r.status, 400) << r.body;
    expect_nothing_left();
}

} // namespace
} // namespace lodge::test
