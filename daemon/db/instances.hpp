// Instances in the database. For now only what listing needs; the full
// object (config, devices, profiles, expansion) comes with instance creation.
#pragma once

#include "daemon/db/database.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<std::string> instance_names(Database& db, std::int64_t project_id);

} // namespace lodge::daemon::db
