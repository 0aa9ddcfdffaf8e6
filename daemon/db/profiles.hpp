// Profiles in the database: names, whole objects (config, devices, used_by),
// creation, replacement, renaming and removal.
#pragma once

#include "api/profile.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<std::string> profile_names(Database& db, std::int64_t project_id);
std::optional<api::Profile> get_profile(Database& db, std::int64_t project_id, const std::string& name);
// The profile's config and devices only (used_by left empty): what
// expanding an instance needs, without a query over every instance.
std::optional<api::Profile> get_profile_contents(Database& db, std::int64_t project_id, const std::string& name);
// The pool the profile's root disk names; "" when it names none.
std::string profile_root_pool(Database& db, std::int64_t project_id, const std::string& name);
std::int64_t create_profile(Database& db, std::int64_t project_id, const api::Profile& profile);

// The names of the instances that use the profile, sorted.
std::vector<std::string> profile_users(Database& db, std::int64_t project_id, const std::string& name);

// Replaces description, config and devices (the name stays). Error(404)
// when there is no such profile.
void update_profile(Database& db, std::int64_t project_id, const std::string& name, const api::Profile& profile);

// Renames the profile; the instances using it keep it (they link by id)
// and their snapshots' remembered profile lists follow the new name.
// Error(404) for an unknown profile, Error(409) when new_name is taken.
void rename_profile(Database& db, std::int64_t project_id, const std::string& name, const std::string& new_name);

// Removes the profile with its config and devices. Error(404) for an
// unknown profile; the caller checks that no instance uses it.
void delete_profile(Database& db, std::int64_t project_id, const std::string& name);

} // namespace lodge::daemon::db
