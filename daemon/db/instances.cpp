// Instances table access.
#include "daemon/db/instances.hpp"

#include "common/error.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/profiles.hpp"

namespace lodge::daemon::db {

namespace {

constexpr DeviceTables instance_devices{"instances_devices", "instance_id", "instances_devices_config",
                                        "instance_device_id"};

void store_profiles(Database& db, std::int64_t project_id, std::int64_t id, const std::vector<std::string>& names) {
    db.prepare("DELETE FROM instances_profiles WHERE instance_id = ?").bind(1, id).run();
    int order = 0;
    for (const auto& name : names) {
        auto st = db.prepare("SELECT id FROM profiles WHERE project_id = ? AND name = ?");
        st.bind_all(project_id, name);
        if (!st.step()) throw Error(404, "Profile not found: " + name);
        const auto profile_id = st.integer(0);
        db.prepare("INSERT INTO instances_profiles (instance_id, profile_id, apply_order) VALUES (?, ?, ?)")
            .bind_all(id, profile_id, ++order)
            .run();
    }
}

api::Instance load(Database& db, std::int64_t project_id, Statement& row) {
    api::Instance i;
    const auto id = row.integer(0);
    i.name = row.text(1);
    i.type = row.text(2);
    i.architecture = row.text(3);
    i.ephemeral = row.integer(4) != 0;
    i.stateful = row.integer(5) != 0;
    i.description = row.text(6);
    i.created_at = row.text(7);
    i.last_used_at = row.text(8);
    i.project = row.text(9);
    i.config = load_key_values(db, "instances_config", "instance_id", id);
    i.devices = load_devices(db, instance_devices, id);
    auto profiles = db.prepare("SELECT p.name FROM instances_profiles ip JOIN profiles p ON p.id = ip.profile_id"
                               " WHERE ip.instance_id = ? ORDER BY ip.apply_order");
    profiles.bind(1, id);
    while (profiles.step()) i.profiles.push_back(profiles.text(0));
    // Later profiles override earlier ones, the instance overrides them all;
    // a device is replaced whole, not merged key by key (as LXD does).
    for (const auto& name : i.profiles) {
        if (auto p = get_profile(db, project_id, name)) {
            for (const auto& [k, v] : p->config) i.expanded_config[k] = v;
            for (const auto& [k, v] : p->devices) i.expanded_devices[k] = v;
        }
    }
    for (const auto& [k, v] : i.config) i.expanded_config[k] = v;
    for (const auto& [k, v] : i.devices) i.expanded_devices[k] = v;
    return i;
}

constexpr std::string_view select_instances =
    "SELECT i.id, i.name, i.type, i.architecture, i.ephemeral, i.stateful, i.description, i.created_at,"
    " i.last_used_at, p.name FROM instances i JOIN projects p ON p.id = i.project_id WHERE i.project_id = ?";

} // namespace

std::vector<std::string> instance_names(Database& db, std::int64_t project_id) {
    auto st = db.prepare("SELECT name FROM instances WHERE project_id = ? ORDER BY name");
    st.bind(1, project_id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<std::int64_t> instance_id(Database& db, std::int64_t project_id, const std::string& name) {
    auto st = db.prepare("SELECT id FROM instances WHERE project_id = ? AND name = ?");
    st.bind_all(project_id, name);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

std::optional<api::Instance> get_instance(Database& db, std::int64_t project_id, const std::string& name) {
    auto st = db.prepare(std::string(select_instances) + " AND i.name = ?");
    st.bind_all(project_id, name);
    if (!st.step()) return std::nullopt;
    return load(db, project_id, st);
}

std::vector<api::Instance> all_instances(Database& db, std::int64_t project_id) {
    auto st = db.prepare(std::string(select_instances) + " ORDER BY i.name");
    st.bind(1, project_id);
    std::vector<api::Instance> out;
    while (st.step()) out.push_back(load(db, project_id, st));
    return out;
}

std::int64_t create_instance(Database& db, std::int64_t project_id, const api::Instance& i) {
    if (instance_id(db, project_id, i.name)) throw Error(409, "Instance \"" + i.name + "\" already exists");
    db.prepare("INSERT INTO instances (project_id, name, type, architecture, ephemeral, stateful, description,"
               " created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(project_id, i.name, i.type, i.architecture, i.ephemeral, i.stateful, i.description, i.created_at,
                  i.last_used_at)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "instances_config", "instance_id", id, i.config);
    store_devices(db, instance_devices, id, i.devices);
    store_profiles(db, project_id, id, i.profiles);
    return id;
}

void update_instance(Database& db, std::int64_t id, const api::Instance& i) {
    auto st = db.prepare("SELECT project_id FROM instances WHERE id = ?");
    st.bind(1, id);
    if (!st.step()) throw Error(404, "Instance not found");
    const auto project_id = st.integer(0);
    db.prepare("UPDATE instances SET description = ?, ephemeral = ? WHERE id = ?")
        .bind_all(i.description, i.ephemeral, id)
        .run();
    store_key_values(db, "instances_config", "instance_id", id, i.config);
    store_devices(db, instance_devices, id, i.devices);
    store_profiles(db, project_id, id, i.profiles);
}

void set_instance_config(Database& db, std::int64_t id, const std::string& key, const std::string& value) {
    db.prepare("INSERT INTO instances_config (instance_id, key, value) VALUES (?, ?, ?)"
               " ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value")
        .bind_all(id, key, value)
        .run();
}

void rename_instance(Database& db, std::int64_t id, const std::string& new_name) {
    db.prepare("UPDATE instances SET name = ? WHERE id = ?").bind_all(new_name, id).run();
}

void touch_instance(Database& db, std::int64_t id, const std::string& last_used_at) {
    db.prepare("UPDATE instances SET last_used_at = ? WHERE id = ?").bind_all(last_used_at, id).run();
}

void delete_instance(Database& db, std::int64_t id) {
    db.prepare("DELETE FROM instances WHERE id = ?").bind(1, id).run();
}

} // namespace lodge::daemon::db
