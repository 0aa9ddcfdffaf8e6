// What a new lodged database starts with, so that launching works right
// after install: the `default` project, a `dir` pool `default` under the
// state directory and a `default` profile whose root disk is on it.
#pragma once

#include "daemon/db/database.hpp"

#include <string>

namespace lodge::daemon::db {

// Inserts the defaults in one transaction. Call only for a database just
// created (schema version was 0): an admin who later deletes the pool or
// changes the profile does not get them back on the next start.
void seed_defaults(Database& db, const std::string& state_dir);

// lodge's baseline profiles in the default project: `hardened` (see
// seed.cpp). Called once, when the database reaches schema v4; a profile of
// that name that an admin made is left as it is.
void seed_baseline_profiles(Database& db);

} // namespace lodge::daemon::db
