// Storage volumes table access.
#include "daemon/db/storage_volumes.hpp"

#include "common/error.hpp"

namespace lodge::daemon::db {

namespace {

constexpr const char* volume_columns = "SELECT v.id, v.storage_pool_id, v.project_id, p.name, v.name, v.type,"
                                       " v.content_type, v.description, v.created_at FROM storage_volumes v"
                                       " JOIN projects p ON p.id = v.project_id";

VolumeRow read_volume(Database& db, Statement& st) {
    VolumeRow v;
    v.id = st.integer(0);
    v.pool_id = st.integer(1);
    v.project_id = st.integer(2);
    v.project = st.text(3);
    v.name = st.text(4);
    v.type = st.text(5);
    v.content_type = st.text(6);
    v.description = st.text(7);
    v.created_at = st.text(8);
    v.config = load_key_values(db, "storage_volumes_config", "storage_volume_id", v.id);
    return v;
}

VolumeSnapshotRow read_snapshot(Database& db, Statement& st) {
    VolumeSnapshotRow s;
    s.id = st.integer(0);
    s.name = st.text(1);
    s.description = st.text(2);
    s.created_at = st.text(3);
    s.expires_at = st.text(4);
    s.config = load_key_values(db, "storage_volumes_snapshots_config", "storage_volume_snapshot_id", s.id);
    return s;
}

} // namespace

std::optional<std::int64_t> storage_pool_id(Database& db, const std::string& pool) {
    auto st = db.prepare("SELECT id FROM storage_pools WHERE name = ?");
    st.bind(1, pool);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

std::vector<VolumeRow> pool_volumes(Database& db, std::int64_t pool_id) {
    auto st = db.prepare(std::string(volume_columns) + " WHERE v.storage_pool_id = ? ORDER BY v.type, v.name");
    st.bind(1, pool_id);
    std::vector<VolumeRow> out;
    while (st.step()) out.push_back(read_volume(db, st));
    return out;
}

std::optional<VolumeRow> get_volume(Database& db, std::int64_t pool_id, std::int64_t project_id,
                                    const std::string& type, const std::string& name) {
    auto st = db.prepare(std::string(volume_columns) +
                         " WHERE v.storage_pool_id = ? AND v.project_id = ? AND v.type = ? AND v.name = ?");
    st.bind_all(pool_id, project_id, type, name);
    if (!st.step()) return std::nullopt;
    return read_volume(db, st);
}

std::optional<std::string> instance_volume_pool(Database& db, std::int64_t project_id, const std::string& name) {
    auto st = db.prepare("SELECT p.name FROM storage_volumes v JOIN storage_pools p ON p.id = v.storage_pool_id"
                         " WHERE v.project_id = ? AND v.type = 'container' AND v.name = ?");
    st.bind_all(project_id, name);
    if (!st.step()) return std::nullopt;
    return st.text(0);
}

std::int64_t create_volume(Database& db, const VolumeRow& v) {
    if (get_volume(db, v.pool_id, v.project_id, v.type, v.name))
        throw Error(409, "Volume \"" + v.name + "\" already exists");
    db.prepare("INSERT INTO storage_volumes (storage_pool_id, project_id, name, type, content_type, description,"
               " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind_all(v.pool_id, v.project_id, v.name, v.type, v.content_type, v.description, v.created_at)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "storage_volumes_config", "storage_volume_id", id, v.config);
    return id;
}

void rename_volume(Database& db, std::int64_t id, const std::string& new_name) {
    db.prepare("UPDATE storage_volumes SET name = ? WHERE id = ?").bind_all(new_name, id).run();
}

void update_volume(Database& db, std::int64_t id, const std::string& description, const ConfigMap& config) {
    db.prepare("UPDATE storage_volumes SET description = ? WHERE id = ?").bind_all(description, id).run();
    store_key_values(db, "storage_volumes_config", "storage_volume_id", id, config);
}

void delete_volume(Database& db, std::int64_t id) {
    db.prepare("DELETE FROM storage_volumes WHERE id = ?").bind(1, id).run();
}

std::vector<VolumeSnapshotRow> volume_snapshots(Database& db, std::int64_t volume_id) {
    auto st = db.prepare("SELECT id, name, description, created_at, expires_at FROM storage_volumes_snapshots"
                         " WHERE storage_volume_id = ? ORDER BY created_at, id");
    st.bind(1, volume_id);
    std::vector<VolumeSnapshotRow> out;
    while (st.step()) out.push_back(read_snapshot(db, st));
    return out;
}

std::optional<VolumeSnapshotRow> get_volume_snapshot(Database& db, std::int64_t volume_id, const std::string& name) {
    auto st = db.prepare("SELECT id, name, description, created_at, expires_at FROM storage_volumes_snapshots"
                         " WHERE storage_volume_id = ? AND name = ?");
    st.bind_all(volume_id, name);
    if (!st.step()) return std::nullopt;
    return read_snapshot(db, st);
}

std::int64_t create_volume_snapshot(Database& db, std::int64_t volume_id, const VolumeSnapshotRow& s) {
    if (get_volume_snapshot(db, volume_id, s.name)) throw Error(409, "Snapshot \"" + s.name + "\" already exists");
    db.prepare("INSERT INTO storage_volumes_snapshots (storage_volume_id, name, description, created_at, expires_at)"
               " VALUES (?, ?, ?, ?, ?)")
        .bind_all(volume_id, s.name, s.description, s.created_at, s.expires_at)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "storage_volumes_snapshots_config", "storage_volume_snapshot_id", id, s.config);
    return id;
}

void rename_volume_snapshot(Database& db, std::int64_t id, const std::string& new_name) {
    db.prepare("UPDATE storage_volumes_snapshots SET name = ? WHERE id = ?").bind_all(new_name, id).run();
}

void update_volume_snapshot(Database& db, std::int64_t id, const std::string& description,
                            const std::string& expires_at) {
    db.prepare("UPDATE storage_volumes_snapshots SET description = ?, expires_at = ? WHERE id = ?")
        .bind_all(description, expires_at, id)
        .run();
}

void delete_volume_snapshot(Database& db, std::int64_t id) {
    db.prepare("DELETE FROM storage_volumes_snapshots WHERE id = ?").bind(1, id).run();
}

} // namespace lodge::daemon::db
