// Projects in the database. lodged has only `default` for now; instances and
// profiles already carry a project id so more can come without a migration
// of their rows.
#pragma once

#include "api/project.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::optional<std::int64_t> project_id(Database& db, const std::string& name);
// Error(404) for an unknown id.
std::string project_name(Database& db, std::int64_t id);
std::vector<std::string> project_names(Database& db);
std::optional<api::Project> get_project(Database& db, const std::string& name);
std::int64_t create_project(Database& db, const api::Project& project);

} // namespace lodge::daemon::db
