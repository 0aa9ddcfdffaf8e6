// Instance snapshots table access.
#include "daemon/db/snapshots.hpp"

#include "common/error.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/profiles.hpp"

#include <nlohmann/json.hpp>

namespace lodge::daemon::db {

namespace {

constexpr DeviceTables snapshot_devices{"instances_snapshots_devices", "instance_snapshot_id",
                                        "instances_snapshots_devices_config", "instance_snapshot_device_id"};

std::vector<api::InstanceSnapshot> load(Database& db, std::int64_t instance_id, const std::string* only) {
    auto project = db.prepare("SELECT project_id FROM instances WHERE id = ?");
    project.bind(1, instance_id);
    if (!project.step()) return {};
    const auto project_id = project.integer(0);

    auto st = db.prepare(std::string("SELECT id, name, architecture, ephemeral, stateful, description, profiles,"
                                     " created_at, expires_at FROM instances_snapshots WHERE instance_id = ?") +
                         (only ? " AND name = ?" : "") + " ORDER BY created_at, id");
    st.bind(1, instance_id);
    if (only) st.bind(2, *only);
    std::vector<api::InstanceSnapshot> out;
    while (st.step()) {
        api::InstanceSnapshot s;
        const auto id = st.integer(0);
        s.name = st.text(1);
        s.architecture = st.text(2);
        s.ephemeral = st.integer(3) != 0;
        s.stateful = st.integer(4) != 0;
        s.description = st.text(5);
        s.profiles = nlohmann::json::parse(st.text(6), nullptr, false).is_array()
                         ? nlohmann::json::parse(st.text(6)).get<std::vector<std::string>>()
                         : std::vector<std::string>{};
        s.created_at = st.text(7);
        s.expires_at = st.text(8);
        s.config = load_key_values(db, "instances_snapshots_config", "instance_snapshot_id", id);
        s.devices = load_devices(db, snapshot_devices, id);
        for (const auto& name : s.profiles) {
            const auto profile = get_profile_contents(db, project_id, name);
            if (!profile) continue;
            for (const auto& [k, v] : profile->config) s.expanded_config[k] = v;
            for (const auto& [k, v] : profile->devices) s.expanded_devices[k] = v;
        }
        for (const auto& [k, v] : s.config) s.expanded_config[k] = v;
        for (const auto& [k, v] : s.devices) s.expanded_devices[k] = v;
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace

std::vector<api::InstanceSnapshot> instance_snapshots(Database& db, std::int64_t instance_id) {
    return load(db, instance_id, nullptr);
}

std::optional<api::InstanceSnapshot> get_instance_snapshot(Database& db, std::int64_t instance_id,
                                                           const std::string& name) {
    auto found = load(db, instance_id, &name);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

std::optional<std::int64_t> instance_snapshot_id(Database& db, std::int64_t instance_id, const std::string& name) {
    auto st = db.prepare("SELECT id FROM instances_snapshots WHERE instance_id = ? AND name = ?");
    st.bind_all(instance_id, name);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

std::int64_t create_instance_snapshot(Database& db, std::int64_t instance_id, const api::InstanceSnapshot& s) {
    if (instance_snapshot_id(db, instance_id, s.name))
        throw Error(409, "Snapshot \"" + s.name + "\" already exists");
    db.prepare("INSERT INTO instances_snapshots (instance_id, name, architecture, ephemeral, stateful, description,"
               " profiles, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(instance_id, s.name, s.architecture, s.ephemeral, s.stateful, s.description,
                  nlohmann::json(s.profiles).dump(), s.created_at, s.expires_at)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "instances_snapshots_config", "instance_snapshot_id", id, s.config);
    store_devices(db, snapshot_devices, id, s.devices);
    return id;
}

void rename_instance_snapshot(Database& db, std::int64_t id, const std::string& new_name) {
    db.prepare("UPDATE instances_snapshots SET name = ? WHERE id = ?").bind_all(new_name, id).run();
}

void update_instance_snapshot(Database& db, std::int64_t id, const std::string& description,
                              const std::string& expires_at) {
    db.prepare("UPDATE instances_snapshots SET description = ?, expires_at = ? WHERE id = ?")
        .bind_all(description, expires_at, id)
        .run();
}

void delete_instance_snapshot(Database& db, std::int64_t id) {
    db.prepare("DELETE FROM instances_snapshots WHERE id = ?").bind(1, id).run();
}

std::vector<ExpiredSnapshot> expired_instance_snapshots(Database& db, api::Time now) {
    // Compared as times, not strings: RFC 3339 fractions of varying length
    // do not sort as text. Zero times (Go's and the epoch) mean never.
    auto st = db.prepare("SELECT i.project_id, i.name, s.name, s.expires_at FROM instances_snapshots s JOIN"
                         " instances i ON i.id = s.instance_id ORDER BY s.id");
    std::vector<ExpiredSnapshot> out;
    while (st.step()) {
        api::Time expiry{};
        if (!api::parse_time(st.text(3), expiry) || expiry == api::Time{} || expiry > now) continue;
        out.push_back({st.integer(0), st.text(1), st.text(2)});
    }
    return out;
}

} // namespace lodge::daemon::db
