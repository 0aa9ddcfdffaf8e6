// The trust store in the database: client certificates by fingerprint.
#pragma once

#include "api/certificate.hpp"
#include "daemon/db/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon::db {

std::vector<api::Certificate> list_certificates(Database& db);

// The one certificate whose fingerprint starts with prefix (LXD accepts
// prefixes); nullopt when none does, Error(400) when several do.
std::optional<api::Certificate> find_certificate(Database& db, const std::string& prefix);

// Error(409) when the fingerprint is already stored.
void create_certificate(Database& db, const api::Certificate& cert);
void update_certificate(Database& db, const std::string& fingerprint, const api::Certificate& cert);
void delete_certificate(Database& db, const std::string& fingerprint);

} // namespace lodge::daemon::db
