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
std::int64_t create_profile(Database& db, std::int64_t project_id, const api::Profile& profile);

} // namespace lodge::daemon::db
