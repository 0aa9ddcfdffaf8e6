// Managed networks in the database: their config, and who uses them (the
// instances and profiles with a nic device on them).
#pragma once

#include "api/network.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<std::string> network_names(Database& db);
std::optional<api::Network> get_network(Database& db, const std::string& name);
std::int64_t create_network(Database& db, const api::Network& network);
void update_network(Database& db, const std::string& name, const std::string& description,
                    const api::ConfigMap& config);
void rename_network(Database& db, const std::string& name, const std::string& new_name);
void delete_network(Database& db, const std::string& name);
// URLs of the instances (their own devices or their profiles') and the
// profiles with a nic on `name` (network=NAME, or parent=NAME for a bridged
// nic), instances first, as LXD lists them.
std::vector<std::string> network_users(Database& db, const std::string& name);

} // namespace lodge::daemon::db
