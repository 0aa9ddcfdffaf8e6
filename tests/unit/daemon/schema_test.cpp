// Migrations and the schema's integrity rules, on in-memory databases.
#include "common/error.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/schema.hpp"
#include "daemon/db/seed.hpp"
#include "daemon/db/storage_pools.hpp"

#include <gtest/gtest.h>

using namespace lodge::daemon::db;

namespace {

int count(Database& db, const std::string& sql) {
    auto st = db.prepare(sql);
    st.step();
    return static_cast<int>(st.integer(0));
}

} // namespace

TEST(DaemonSchema, MigratesAnEmptyDatabaseToTheLatestVersion) {
    Database db(":memory:");
    EXPECT_EQ(migrate(db), 0);
    EXPECT_EQ(schema_version(db), static_cast<int>(migrations().size()));
    for (auto table : {"config", "projects", "projects_config", "profiles", "profiles_config", "profiles_devices",
                       "profiles_devices_config", "storage_pools", "storage_pools_config", "instances",
                       "instances_config", "instances_devices", "instances_devices_config", "instances_profiles"})
        EXPECT_EQ(count(db, std::string("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='") +
                                table + "'"),
                  1)
            << table;
}

TEST(DaemonSchema, MigratingTwiceChangesNothing) {
    Database db(":memory:");
    migrate(db);
    EXPECT_EQ(migrate(db), static_cast<int>(migrations().size()));
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM schema_version"), static_cast<int>(migrations().size()));
}

TEST(DaemonSchema, RefusesADatabaseFromANewerLodged) {
    Database db(":memory:");
    migrate(db);
    db.exec("INSERT INTO schema_version (version) VALUES (999)");
    EXPECT_THROW(migrate(db), lodge::Error);
}

TEST(DaemonSchema, ForeignKeysAreEnforced) {
    Database db(":memory:");
    migrate(db);
    EXPECT_THROW(db.exec("INSERT INTO profiles (project_id, name) VALUES (42, 'orphan')"), lodge::Error);
}

TEST(DaemonSchema, SeedCreatesTheDefaults) {
    Database db(":memory:");
    migrate(db);
    seed_defaults(db, "/var/lib/lodge");
    auto project = project_id(db, "default");
    ASSERT_TRUE(project);
    auto profile = get_profile(db, *project, "default");
    ASSERT_TRUE(profile);
    EXPECT_EQ(profile->devices.at("root"),
              (std::map<std::string, std::string>{{"path", "/"}, {"pool", "default"}, {"type", "disk"}}));
    auto pool = get_storage_pool(db, "default");
    ASSERT_TRUE(pool);
    EXPECT_EQ(pool->driver, "dir");
    EXPECT_EQ(pool->config.at("source"), "/var/lib/lodge/storage-pools/default");
    EXPECT_EQ(pool->used_by, std::vector<std::string>{"/1.0/profiles/default"});
    auto proj = get_project(db, "default");
    ASSERT_TRUE(proj);
    EXPECT_EQ(proj->config.at("features.profiles"), "true");
}

TEST(DaemonSchema, ProfileInUseCannotBeDeletedAndInstancesCascade) {
    Database db(":memory:");
    migrate(db);
    seed_defaults(db, "/s");
    db.exec("INSERT INTO instances (project_id, name, architecture, created_at)"
            " VALUES (1, 'web1', 'x86_64', '2026-01-01T00:00:00Z')");
    db.exec("INSERT INTO instances_profiles (instance_id, profile_id, apply_order) VALUES (1, 1, 0)");
    db.exec("INSERT INTO instances_config (instance_id, key, value) VALUES (1, 'limits.cpu', '1')");
    auto profile = get_profile(db, 1, "default");
    EXPECT_EQ(profile->used_by, std::vector<std::string>{"/1.0/instances/web1"});
    EXPECT_THROW(db.exec("DELETE FROM profiles WHERE name = 'default'"), lodge::Error);
    db.exec("DELETE FROM instances WHERE name = 'web1'");
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM instances_profiles"), 0);
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM instances_config"), 0);
    db.exec("DELETE FROM profiles WHERE name = 'default'");
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM profiles_devices_config"), 0);
}

TEST(DaemonSchema, TransactionsRollBackOnError) {
    Database db(":memory:");
    migrate(db);
    EXPECT_THROW(db.transaction([&] {
        db.exec("INSERT INTO config (key, value) VALUES ('user.a', '1')");
        throw lodge::Error(400, "stop");
    }),
                 lodge::Error);
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM config"), 0);
}

// Instances made before storage volumes had rows (version 2) get theirs on
// the default pool, or the start-up reconcile would take their files for
// leftovers.
TEST(DaemonSchema, Version3GivesEarlierInstancesTheirVolumeRows) {
    Database db(":memory:");
    schema_version(db);
    for (int v = 0; v < 2; ++v) {
        db.exec(migrations()[static_cast<size_t>(v)]);
        db.prepare("INSERT INTO schema_version (version) VALUES (?)").bind(1, v + 1).run();
    }
    seed_defaults(db, "/var/lib/lodge");
    db.exec("INSERT INTO instances (project_id, name, architecture, created_at) VALUES "
            "((SELECT id FROM projects WHERE name = 'default'), 'web1', 'x86_64', '2026-11-01T00:00:00Z')");
    EXPECT_EQ(migrate(db), 2);
    EXPECT_EQ(count(db, "SELECT COUNT(*) FROM storage_volumes v JOIN storage_pools p ON p.id = v.storage_pool_id"
                        " WHERE v.name = 'web1' AND v.type = 'container' AND p.name = 'default'"),
              1);
}
