// Storage pools in the database. The pool's data lives on disk (the storage
// driver's business); this is its config and who uses it.
#pragma once

#include "api/storage_pool.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<std::string> storage_pool_names(Database& db);
std::optional<api::StoragePool> get_storage_pool(Database& db, const std::string& name);
std::int64_t create_storage_pool(Database& db, const api::StoragePool& pool);

} // namespace lodge::daemon::db
