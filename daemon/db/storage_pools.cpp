// Storage pools table access.
#include "daemon/db/storage_pools.hpp"

#include "daemon/db/key_values.hpp"

namespace lodge::daemon::db {

std::vector<std::string> storage_pool_names(Database& db) {
    auto st = db.prepare("SELECT name FROM storage_pools ORDER BY name");
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<api::StoragePool> get_storage_pool(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT id, driver, description, status FROM storage_pools WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) return std::nullopt;
    const auto id = st.integer(0);
    api::StoragePool p;
    p.name = name;
    p.driver = st.text(1);
    p.description = st.text(2);
    p.status = st.text(3);
    p.config = load_key_values(db, "storage_pools_config", "storage_pool_id", id);
    // Users of the pool: the instances with their root volume on it (or a
    // disk device naming it), the images cached on it, then profiles
    // (LXD's order).
    auto inst = db.prepare("SELECT name FROM (SELECT v.name AS name FROM storage_volumes v WHERE"
                           " v.storage_pool_id = ?1 AND v.type = 'container' UNION SELECT i.name FROM instances i"
                           " JOIN instances_devices d ON d.instance_id = i.id"
                           " JOIN instances_devices_config c ON c.instance_device_id = d.id"
                           " WHERE d.type = 'disk' AND c.key = 'pool' AND c.value = ?2) ORDER BY name");
    inst.bind_all(id, name);
    while (inst.step()) p.used_by.push_back("/1.0/instances/" + inst.text(0));
    auto images = db.prepare("SELECT name FROM storage_volumes WHERE storage_pool_id = ? AND type = 'image'"
                             " ORDER BY name");
    images.bind(1, id);
    while (images.step()) p.used_by.push_back("/1.0/images/" + images.text(0));
    auto custom = db.prepare("SELECT name FROM storage_volumes WHERE storage_pool_id = ? AND type = 'custom'"
                             " ORDER BY name");
    custom.bind(1, id);
    while (custom.step()) p.used_by.push_back("/1.0/storage-pools/" + name + "/volumes/custom/" + custom.text(0));
    auto prof = db.prepare("SELECT DISTINCT p.name FROM profiles p"
                           " JOIN profiles_devices d ON d.profile_id = p.id"
                           " JOIN profiles_devices_config c ON c.profile_device_id = d.id"
                           " WHERE d.type = 'disk' AND c.key = 'pool' AND c.value = ? ORDER BY p.name");
    prof.bind(1, name);
    while (prof.step()) p.used_by.push_back("/1.0/profiles/" + prof.text(0));
    return p;
}

std::int64_t create_storage_pool(Database& db, const api::StoragePool& pool) {
    db.prepare("INSERT INTO storage_pools (name, driver, description, status) VALUES (?, ?, ?, ?)")
        .bind_all(pool.name, pool.driver, pool.description, pool.status)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "storage_pools_config", "storage_pool_id", id, pool.config);
    return id;
}

} // namespace lodge::daemon::db
