// The operations history: each operation is recorded when it starts and
// when it ends, so that after a restart lodged can say which ones it
// interrupted (they are marked failed) and clients polling them get an answer.
#pragma once

#include "api/operation.hpp"
#include "daemon/db/database.hpp"

#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace lodge::daemon::db {

// The error of an operation a restart of lodged cut short.
inline constexpr std::string_view interrupted_error = "lodged stopped while the operation ran; it did not finish";

void record_operation(Database& db, const api::Operation& op);

// Marks every operation still recorded as running as failed with
// interrupted_error; returns their ids. Also drops records older than a day.
std::vector<std::string> fail_interrupted_operations(Database& db);

std::optional<api::Operation> recorded_operation(Database& db, const std::string& id);

// Operations a previous run of lodged left failed (what the in-memory
// registry of this run does not know).
std::vector<api::Operation> interrupted_operations(Database& db);

} // namespace lodge::daemon::db
