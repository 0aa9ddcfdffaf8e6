// The images_source table.
#include "daemon/db/image_sources.hpp"

#include "common/error.hpp"

namespace lodge::daemon::db {

void set_image_source(Database& db, const std::string& fingerprint, const ImageSourceRecord& source) {
    auto id = db.prepare("SELECT id FROM images WHERE fingerprint = ?");
    id.bind(1, fingerprint);
    if (!id.step()) throw Error(404, "Image not found: " + fingerprint);
    const auto image_id = id.integer(0);
    db.prepare("DELETE FROM images_source WHERE image_id = ?").bind(1, image_id).run();
    db.prepare("INSERT INTO images_source (image_id, server, protocol, certificate, alias) VALUES (?, ?, ?, ?, ?)")
        .bind_all(image_id, source.server, source.protocol, source.certificate, source.alias)
        .run();
}

std::optional<ImageSourceRecord> get_image_source(Database& db, const std::string& fingerprint) {
    auto st = db.prepare("SELECT s.server, s.protocol, s.certificate, s.alias FROM images_source s"
                         " JOIN images i ON i.id = s.image_id WHERE i.fingerprint = ?");
    st.bind(1, fingerprint);
    if (!st.step()) return std::nullopt;
    return ImageSourceRecord{st.text(0), st.text(1), st.text(2), st.text(3)};
}

} // namespace lodge::daemon::db
