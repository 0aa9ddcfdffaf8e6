// Profiles in the database: names, whole objects (config, devices, used_by)
// and creation.
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
std::int64_t create_profile(Database& db, std::int64_t project_id, const api::Profile& profile);

} // namespace lodge::daemon::db
