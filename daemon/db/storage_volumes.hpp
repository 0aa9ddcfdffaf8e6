// Storage volumes in the database. Every volume on a pool has a row: the
// instances' root volumes (type "container"), the cached image volumes
// ("image") and custom volumes ("custom"); custom volumes' snapshots have
// rows of their own (instance snapshots live in instances_snapshots).
#pragma once

#include "daemon/db/database.hpp"
#include "daemon/db/key_values.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

struct VolumeRow {
    std::int64_t id = 0;
    std::int64_t pool_id = 0;
    std::int64_t project_id = 0;
    std::string project;
    std::string name;
    std::string type; // "container", "image", "custom"
    std::string content_type = "filesystem";
    std::string description;
    std::string created_at;
    ConfigMap config;
};

std::optional<std::int64_t> storage_pool_id(Database& db, const std::string& pool);

// All volumes of a pool (every project), by type then name.
std::vector<VolumeRow> pool_volumes(Database& db, std::int64_t pool_id);
std::optional<VolumeRow> get_volume(Database& db, std::int64_t pool_id, std::int64_t project_id,
                                    const std::string& type, const std::string& name);
// The pool holding an instance's root volume, if it has one.
std::optional<std::string> instance_volume_pool(Database& db, std::int64_t project_id, const std::string& name);
// Error(409) when the pool has that volume already.
std::int64_t create_volume(Database& db, const VolumeRow& volume);
void rename_volume(Database& db, std::int64_t id, const std::string& new_name);
void update_volume(Database& db, std::int64_t id, const std::string& description, const ConfigMap& config);
void delete_volume(Database& db, std::int64_t id);

struct VolumeSnapshotRow {
    std::int64_t id = 0;
    std::string name;
    std::string description;
    std::string created_at;
    std::string expires_at = "0001-01-01T00:00:00Z";
    ConfigMap config;
};

std::vector<VolumeSnapshotRow> volume_snapshots(Database& db, std::int64_t volume_id);
std::optional<VolumeSnapshotRow> get_volume_snapshot(Database& db, std::int64_t volume_id, const std::string& name);
std::int64_t create_volume_snapshot(Database& db, std::int64_t volume_id, const VolumeSnapshotRow& snapshot);
void rename_volume_snapshot(Database& db, std::int64_t id, const std::string& new_name);
void update_volume_snapshot(Database& db, std::int64_t id, const std::string& description,
                            const std::string& expires_at);
void delete_volume_snapshot(Database& db, std::int64_t id);

} // namespace lodge::daemon::db
