// Instances table access.
#include "daemon/db/instances.hpp"

#include "common/error.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/profiles.hpp"

#include <map>
#include <optional>

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

// Loads the instances a WHERE clause selects with a fixed number of
// queries whatever their count (lists of thousands stay fast): rows, then
// every config key, device key and profile link of the project at once.
std::vector<api::Instance> load_instances(Database& db, std::int64_t project_id, const std::string* only) {
    const std::string filter = only ? " AND i.name = ?" : "";
    auto bind = [&](Statement& st) {
        st.bind(1, project_id);
        if (only) st.bind(2, *only);
    };
    std::vector<api::Instance> out;
    std::map<std::int64_t, size_t> index; // instance id -> position in out
    auto rows = db.prepare("SELECT i.id, i.name, i.type, i.architecture, i.ephemeral, i.stateful, i.description,"
                           " i.created_at, i.last_used_at, p.name FROM instances i JOIN projects p ON p.id = "
                           "i.project_id WHERE i.project_id = ?" + filter + " ORDER BY i.name");
    bind(rows);
    while (rows.step()) {
        api::Instance i;
        i.name = rows.text(1);
        i.type = rows.text(2);
        i.architecture = rows.text(3);
        i.ephemeral = rows.integer(4) != 0;
        i.stateful = rows.integer(5) != 0;
        i.description = rows.text(6);
        i.created_at = rows.text(7);
        i.last_used_at = rows.text(8);
        i.project = rows.text(9);
        index[rows.integer(0)] = out.size();
        out.push_back(std::move(i));
    }
    if (out.empty()) return out;

    auto config = db.prepare("SELECT c.instance_id, c.key, c.value FROM instances_config c JOIN instances i ON i.id ="
                             " c.instance_id WHERE i.project_id = ?" + filter);
    bind(config);
    while (config.step()) out[index.at(config.integer(0))].config[config.text(1)] = config.text(2);

    auto devices = db.prepare("SELECT d.instance_id, d.name, d.type, c.key, c.value FROM instances_devices d JOIN "
                              "instances i ON i.id = d.instance_id LEFT JOIN instances_devices_config c ON "
                              "c.instance_device_id = d.id WHERE i.project_id = ?" + filter);
    bind(devices);
    while (devices.step()) {
        auto& dev = out[index.at(devices.integer(0))].devices[devices.text(1)];
        dev["type"] = devices.text(2);
        if (!devices.is_null(3)) dev[devices.text(3)] = devices.text(4);
    }

    auto links = db.prepare("SELECT ip.instance_id, p.name FROM instances_profiles ip JOIN profiles p ON p.id = "
                            "ip.profile_id JOIN instances i ON i.id = ip.instance_id WHERE i.project_id = ?" +
                            filter + " ORDER BY ip.instance_id, ip.apply_order");
    bind(links);
    while (links.step()) out[index.at(links.integer(0))].profiles.push_back(links.text(1));

    // Each profile once; later profiles override earlier ones, the
    // instance overrides them all; a device is replaced whole, not merged
    // key by key (as LXD does).
    std::map<std::string, std::optional<api::Profile>> profiles;
    for (auto& i : out) {
        for (const auto& name : i.profiles) {
            auto it = profiles.find(name);
            if (it == profiles.end()) it = profiles.emplace(name, get_profile_contents(db, project_id, name)).first;
            if (!it->second) continue;
            for (const auto& [k, v] : it->second->config) i.expanded_config[k] = v;
            for (const auto& [k, v] : it->second->devices) i.expanded_devices[k] = v;
        }
        for (const auto& [k, v] : i.config) i.expanded_config[k] = v;
        for (const auto& [k, v] : i.devices) i.expanded_devices[k] = v;
    }
    return out;
}

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
    auto found = load_instances(db, project_id, &name);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

std::vector<api::Instance> all_instances(Database& db, std::int64_t project_id) {
    return load_instances(db, project_id, nullptr);
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
