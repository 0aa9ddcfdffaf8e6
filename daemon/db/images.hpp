// Images, their properties and their aliases in the database (schema v2).
// Images are global (not per project), as the default project has them.
#pragma once

#include "api/image.hpp"
#include "daemon/db/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

// Full fingerprints, sorted.
std::vector<std::string> image_fingerprints(Database& db);
// The fingerprint that `prefix` starts uniquely (a full one included);
// nullopt when none or several match.
std::optional<std::string> match_fingerprint(Database& db, const std::string& prefix);
std::optional<api::Image> get_image(Database& db, const std::string& fingerprint);
// Inserts the image and its properties (aliases are separate); Error(409)
// when the fingerprint exists.
void create_image(Database& db, const api::Image& image);
// Replaces public, auto_update and the properties.
void update_image(Database& db, const api::Image& image);
// Sets last_used_at to now: instance creation calls it for its image.
void mark_image_used(Database& db, const std::string& fingerprint);
// Removes the image with its properties and aliases; false when unknown.
bool delete_image(Database& db, const std::string& fingerprint);

std::vector<std::string> alias_names(Database& db); // sorted
std::optional<api::ImageAlias> get_alias(Database& db, const std::string& name);
// Error(409) when the name is taken, Error(404) when the target is unknown.
void create_alias(Database& db, const api::ImageAlias& alias);
// Changes target and description of an existing alias (Error(404) otherwise).
void update_alias(Database& db, const api::ImageAlias& alias);
void rename_alias(Database& db, const std::string& from, const std::string& to);
bool delete_alias(Database& db, const std::string& name);

} // namespace lodge::daemon::db
