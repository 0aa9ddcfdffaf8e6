// Images, images_properties and images_aliases table access.
#include "daemon/db/images.hpp"

#include "common/error.hpp"

namespace lodge::daemon::db {

namespace {

api::Time read_time(const std::string& text) {
    api::Time t{};
    api::parse_time(text, t);
    return t;
}

std::optional<std::int64_t> image_id(Database& db, const std::string& fingerprint) {
    auto st = db.prepare("SELECT id FROM images WHERE fingerprint = ?");
    st.bind(1, fingerprint);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

void store_properties(Database& db, std::int64_t id, const std::map<std::string, std::string>& properties) {
    db.prepare("DELETE FROM images_properties WHERE image_id = ?").bind(1, id).run();
    auto st = db.prepare("INSERT INTO images_properties (image_id, key, value) VALUES (?, ?, ?)");
    for (const auto& [key, value] : properties) {
        st.reset();
        st.bind_all(id, key, value).run();
    }
}

} // namespace

std::vector<std::string> image_fingerprints(Database& db) {
    auto st = db.prepare("SELECT fingerprint FROM images ORDER BY fingerprint");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<std::string> match_fingerprint(Database& db, const std::string& prefix) {
    if (prefix.empty()) return std::nullopt;
    // substr instead of LIKE: a prefix from a request may hold % or _.
    auto st = db.prepare("SELECT fingerprint FROM images WHERE substr(fingerprint, 1, ?) = ? LIMIT 2");
    st.bind_all(static_cast<std::int64_t>(prefix.size()), prefix);
    std::vector<std::string> found;
    while (st.step()) found.push_back(st.text(0));
    if (found.size() != 1) return std::nullopt;
    return found.front();
}

std::optional<api::Image> get_image(Database& db, const std::string& fingerprint) {
    auto st = db.prepare("SELECT id, filename, size, public, auto_update, architecture, type, created_at,"
                         " expires_at, uploaded_at, last_used_at, cached FROM images WHERE fingerprint = ?");
    st.bind(1, fingerprint);
    if (!st.step()) return std::nullopt;
    const auto id = st.integer(0);
    api::Image image;
    image.fingerprint = fingerprint;
    image.filename = st.text(1);
    image.size = st.integer(2);
    image.is_public = st.integer(3) != 0;
    image.auto_update = st.integer(4) != 0;
    image.architecture = st.text(5);
    image.type = st.text(6);
    image.created_at = read_time(st.text(7));
    image.expires_at = read_time(st.text(8));
    image.uploaded_at = read_time(st.text(9));
    image.last_used_at = read_time(st.text(10));
    image.cached = st.integer(11) != 0;
    auto props = db.prepare("SELECT key, value FROM images_properties WHERE image_id = ?");
    props.bind(1, id);
    while (props.step()) image.properties[props.text(0)] = props.text(1);
    auto aliases = db.prepare("SELECT name, description FROM images_aliases WHERE image_id = ? ORDER BY name");
    aliases.bind(1, id);
    while (aliases.step()) image.aliases.push_back({aliases.text(0), aliases.text(1)});
    return image;
}

void create_image(Database& db, const api::Image& image) {
    if (image_id(db, image.fingerprint)) throw Error(409, "Image with same fingerprint already exists");
    db.prepare("INSERT INTO images (fingerprint, filename, size, public, auto_update, architecture, type,"
               " created_at, expires_at, uploaded_at, last_used_at, cached) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(image.fingerprint, image.filename, image.size, image.is_public, image.auto_update,
                  image.architecture, image.type, api::format_time(image.created_at),
                  image.expires_at == api::Time{} ? std::string("1970-01-01T00:00:00Z")
                                                  : api::format_time(image.expires_at),
                  api::format_time(image.uploaded_at), api::format_time(image.last_used_at), image.cached)
        .run();
    store_properties(db, db.last_insert_id(), image.properties);
}

void update_image(Database& db, const api::Image& image) {
    auto id = image_id(db, image.fingerprint);
    if (!id) throw Error(404, "Image not found");
    db.prepare("UPDATE images SET public = ?, auto_update = ? WHERE id = ?")
        .bind_all(image.is_public, image.auto_update, *id)
        .run();
    store_properties(db, *id, image.properties);
}

void mark_image_used(Database& db, const std::string& fingerprint) {
    db.prepare("UPDATE images SET last_used_at = ? WHERE fingerprint = ?")
        .bind_all(api::format_time(api::now()), fingerprint)
        .run();
}

bool delete_image(Database& db, const std::string& fingerprint) {
    db.prepare("DELETE FROM images WHERE fingerprint = ?").bind(1, fingerprint).run();
    return db.changes() > 0;
}

std::vector<std::string> alias_names(Database& db) {
    auto st = db.prepare("SELECT name FROM images_aliases ORDER BY name");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<api::ImageAlias> get_alias(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT a.description, i.fingerprint, i.type FROM images_aliases a"
                         " JOIN images i ON i.id = a.image_id WHERE a.name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    return api::ImageAlias{name, st.text(0), st.text(1), st.text(2)};
}

void create_alias(Database& db, const api::ImageAlias& alias) {
    if (get_alias(db, alias.name)) throw Error(409, "Alias '" + alias.name + "' already exists");
    auto id = image_id(db, alias.target);
    if (!id) throw Error(404, "Image '" + alias.target + "' not found");
    db.prepare("INSERT INTO images_aliases (name, image_id, description) VALUES (?, ?, ?)")
        .bind_all(alias.name, *id, alias.description)
        .run();
}

void update_alias(Database& db, const api::ImageAlias& alias) {
    auto id = image_id(db, alias.target);
    if (!id) throw Error(404, "Image '" + alias.target + "' not found");
    db.prepare("UPDATE images_aliases SET image_id = ?, description = ? WHERE name = ?")
        .bind_all(*id, alias.description, alias.name)
        .run();
    if (db.changes() == 0) throw Error(404, "Image alias not found");
}

void rename_alias(Database& db, const std::string& from, const std::string& to) {
    if (get_alias(db, to)) throw Error(409, "Alias '" + to + "' already exists");
    db.prepare("UPDATE images_aliases SET name = ? WHERE name = ?").bind_all(to, from).run();
    if (db.changes() == 0) throw Error(404, "Image alias not found");
}

bool delete_alias(Database& db, const std::string& name) {
    db.prepare("DELETE FROM images_aliases WHERE name = ?").bind(1, name).run();
    return db.changes() > 0;
}

} // namespace lodge::daemon::db
