// The database schema as an ordered list of migrations; lodged applies the
// missing ones at start, each in its own transaction.
#pragma once

#include "daemon/db/database.hpp"

#include <string_view>
#include <vector>

namespace lodge::daemon::db {

// Migration i (0-based) brings the schema from version i to i+1. Append
// only: a released migration is never edited, since databases in the field
// already ran it.
const std::vector<std::string_view>& migrations();

// The version recorded in schema_version; 0 for an empty database.
int schema_version(Database& db);

// Applies the missing migrations; returns the version found before. A
// database newer than this lodged (a downgrade) is refused, since running
// old code on a newer schema would corrupt it.
int migrate(Database& db);

} // namespace lodge::daemon::db
