// Where a pulled image came from (LXD's images_source, schema v3): the
// server, protocol and alias an image was downloaded by, for auto-update.
#pragma once

#include "daemon/db/database.hpp"

#include <optional>
#include <string>

namespace lodge::daemon::db {

struct ImageSourceRecord {
    std::string server;
    std::string protocol; // "simplestreams"
    std::string certificate;
    std::string alias; // what the image was asked for by (alias or fingerprint)
};

// Records (or replaces) the source of an existing image; Error(404) when
// the fingerprint is unknown. Deleting the image removes it (cascade).
void set_image_source(Database& db, const std::string& fingerprint, const ImageSourceRecord& source);
std::optional<ImageSourceRecord> get_image_source(Database& db, const std::string& fingerprint);

} // namespace lodge::daemon::db
