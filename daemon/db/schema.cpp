// lodged's schema. Laid out like LXD's cluster schema so that the same
// clients' questions map to the same joins: one table per object with a
// surrogate id, `<object>_config` key/value tables, devices with their own
// config, and link tables; children cascade with their parent.
#include "daemon/db/schema.hpp"

#include "common/error.hpp"

#include <spdlog/spdlog.h>

#include <string>

namespace lodge::daemon::db {

namespace {

// Version 1: server config, projects, profiles, storage pools, instances.
// Device types are TEXT (LXD stores an enum integer; text reads better in
// the sqlite3 shell and costs nothing at this size). Timestamps are TEXT in
// the API's RFC 3339 form so they round-trip exactly.
// instances_profiles -> profiles has no cascade on purpose: deleting a
// profile that instances still use must fail, not silently unlink them.
constexpr std::string_view v1 = R"sql(
CREATE TABLE config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE projects_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (project_id, key)
);
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    UNIQUE (project_id, name)
);
CREATE TABLE profiles_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (profile_id, key)
);
CREATE TABLE profiles_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    UNIQUE (profile_id, name)
);
CREATE TABLE profiles_devices_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    profile_device_id INTEGER NOT NULL REFERENCES profiles_devices (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (profile_device_id, key)
);
CREATE TABLE storage_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'Created'
);
CREATE TABLE storage_pools_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_pool_id, key)
);
CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'container',
    architecture TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    stateful INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
    UNIQUE (project_id, name)
);
CREATE TABLE instances_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_id, key)
);
CREATE TABLE instances_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE TABLE instances_devices_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_device_id INTEGER NOT NULL REFERENCES instances_devices (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_device_id, key)
);
CREATE TABLE instances_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    profile_id INTEGER NOT NULL REFERENCES profiles (id),
    apply_order INTEGER NOT NULL,
    UNIQUE (instance_id, profile_id)
);
CREATE INDEX instances_profiles_profile ON instances_profiles (profile_id);
)sql";


// Version 2: images and their aliases, trusted client certificates and the
// operations history. Images are not per project (features.images is the
// default project's only mode here). An operation row is written when the
// operation starts and updated when it ends, so a restarted lodged can mark
// the ones it interrupted as failed.
constexpr std::string_view v2 = R"sql(
CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    public INTEGER NOT NULL DEFAULT 0,
    auto_update INTEGER NOT NULL DEFAULT 0,
    architecture TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT 'container',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z',
    uploaded_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
    cached INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE images_properties (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (image_id, key)
);
CREATE TABLE images_aliases (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL DEFAULT 'client',
    name TEXT NOT NULL,
    certificate TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    class TEXT NOT NULL,
    status TEXT NOT NULL,
    err TEXT NOT NULL DEFAULT '',
    resources TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
)sql";

// Version 3: storage. Every volume on a pool has a row (instances' root
// volumes, cached image volumes, custom volumes); a volume on disk without
// one is a leftover of an interrupted change and is removed at start, so the
// instances made before this version get their rows (all were on "default").
// Instance snapshots keep the instance's config, devices and profiles as
// they were, so a restore brings them back. Images pulled from a remote
// server remember where from (LXD's images_source).
constexpr std::string_view v3 = R"sql(
CREATE TABLE storage_volumes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'filesystem',
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (storage_pool_id, project_id, type, name)
);
CREATE TABLE storage_volumes_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_volume_id, key)
);
CREATE TABLE storage_volumes_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
    UNIQUE (storage_volume_id, name)
);
CREATE TABLE storage_volumes_snapshots_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    storage_volume_snapshot_id INTEGER NOT NULL REFERENCES storage_volumes_snapshots (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (storage_volume_snapshot_id, key)
);
CREATE TABLE instances_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    architecture TEXT NOT NULL,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    stateful INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    profiles TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',
    UNIQUE (instance_id, name)
);
CREATE TABLE instances_snapshots_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_snapshot_id INTEGER NOT NULL REFERENCES instances_snapshots (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_snapshot_id, key)
);
CREATE TABLE instances_snapshots_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_snapshot_id INTEGER NOT NULL REFERENCES instances_snapshots (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    UNIQUE (instance_snapshot_id, name)
);
CREATE TABLE instances_snapshots_devices_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    instance_snapshot_device_id INTEGER NOT NULL REFERENCES instances_snapshots_devices (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (instance_snapshot_device_id, key)
);
CREATE TABLE images_source (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    image_id INTEGER NOT NULL UNIQUE REFERENCES images (id) ON DELETE CASCADE,
    server TEXT NOT NULL,
    protocol TEXT NOT NULL,
    certificate TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT ''
);
INSERT INTO storage_volumes (storage_pool_id, project_id, name, type, created_at)
    SELECT pool.id, i.project_id, i.name, 'container', i.created_at
    FROM instances i, storage_pools pool WHERE pool.name = 'default';
)sql";

// v4: no table changes. Databases made before it get lodge's baseline
// profiles (seed_baseline_profiles, called by the daemon when it migrates
// past v4), which are C++ data rather than SQL.
constexpr std::string_view v4 = "SELECT 1;";

// v5: managed networks (bridges lodged makes and runs dnsmasq and rules for).
constexpr std::string_view v5 = R"sql(
CREATE TABLE networks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'bridge',
    status TEXT NOT NULL DEFAULT 'Created'
);
CREATE TABLE networks_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (network_id, key)
);
)sql";

} // namespace

const std::vector<std::string_view>& migrations() {
    static const std::vector<std::string_view> list{v1, v2, v3, v4, v5};
    return list;
}

int schema_version(Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))");
    auto st = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    st.step();
    return static_cast<int>(st.integer(0));
}

int migrate(Database& db) {
    const int found = schema_version(db);
    const int target = static_cast<int>(migrations().size());
    if (found > target)
        throw Error(500, "database schema version " + std::to_string(found) + " is newer than this lodged (" +
                             std::to_string(target) + "); run the lodged that wrote it, or restore a backup");
    for (int v = found; v < target; ++v) {
        db.transaction([&] {
            db.exec(migrations()[static_cast<size_t>(v)]);
            db.prepare("INSERT INTO schema_version (version) VALUES (?)").bind(1, v + 1).run();
        });
        spdlog::info("database: schema updated to version {}", v + 1);
    }
    return found;
}

} // namespace lodge::daemon::db
