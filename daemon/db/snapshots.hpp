// Instance snapshots in the database: each keeps the instance's config,
// devices and profiles as they were, so a restore can bring them back.
#pragma once

#include "api/instance.hpp"
#include "api/time.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

// Oldest first, with expanded_config and expanded_devices from the profiles
// the snapshot names (as they are now, as LXD does).
std::vector<api::InstanceSnapshot> instance_snapshots(Database& db, std::int64_t instance_id);
std::optional<api::InstanceSnapshot> get_instance_snapshot(Database& db, std::int64_t instance_id,
                                                           const std::string& name);
std::optional<std::int64_t> instance_snapshot_id(Database& db, std::int64_t instance_id, const std::string& name);
// Error(409) when the instance has a snapshot of that name.
std::int64_t create_instance_snapshot(Database& db, std::int64_t instance_id, const api::InstanceSnapshot& snapshot);
void rename_instance_snapshot(Database& db, std::int64_t id, const std::string& new_name);
void update_instance_snapshot(Database& db, std::int64_t id, const std::string& description,
                              const std::string& expires_at);
void delete_instance_snapshot(Database& db, std::int64_t id);

// Snapshots whose expiry has come by `now`, all projects.
struct ExpiredSnapshot {
    std::int64_t project_id;
    std::string instance;
    std::string snapshot;
};
std::vector<ExpiredSnapshot> expired_instance_snapshots(Database& db, api::Time now);

} // namespace lodge::daemon::db
