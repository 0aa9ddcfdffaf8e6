// Instances in the database: the object with its own config and devices,
// its profiles in order, and the expansion (profiles' config and devices
// under the instance's own).
#pragma once

#include "api/instance.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<std::string> instance_names(Database& db, std::int64_t project_id);

std::optional<std::int64_t> instance_id(Database& db, std::int64_t project_id, const std::string& name);

// The stored object with expanded_config and expanded_devices filled;
// status is left to the caller (it lives in the runtime).
std::optional<api::Instance> get_instance(Database& db, std::int64_t project_id, const std::string& name);
std::vector<api::Instance> all_instances(Database& db, std::int64_t project_id);

// Error(404) when a profile is unknown, Error(409) when the name is taken.
std::int64_t create_instance(Database& db, std::int64_t project_id, const api::Instance& instance);

// Replaces description, ephemeral, config, devices and profiles.
void update_instance(Database& db, std::int64_t id, const api::Instance& instance);
void set_instance_config(Database& db, std::int64_t id, const std::string& key, const std::string& value);
void rename_instance(Database& db, std::int64_t id, const std::string& new_name);
void touch_instance(Database& db, std::int64_t id, const std::string& last_used_at);
void delete_instance(Database& db, std::int64_t id);

} // namespace lodge::daemon::db
