// Profiles table access.
#include "daemon/db/profiles.hpp"

#include "daemon/db/key_values.hpp"

namespace lodge::daemon::db {

namespace {

constexpr DeviceTables profile_devices{"profiles_devices", "profile_id", "profiles_devices_config",
                                       "profile_device_id"};

} // namespace

std::vector<std::string> profile_names(Database& db, std::int64_t project_id) {
    auto st = db.prepare("SELECT name FROM profiles WHERE project_id = ? ORDER BY name");
    st.bind(1, project_id);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text(0));
    return out;
}

std::optional<api::Profile> get_profile_contents(Database& db, std::int64_t project_id, const std::string& name) {
    auto st = db.prepare("SELECT id, description FROM profiles WHERE project_id = ? AND name = ?");
    st.bind_all(project_id, name);
    if (!st.step()) return std::nullopt;
    const auto id = st.integer(0);
    api::Profile p;
    p.name = name;
    p.description = st.text(1);
    p.config = load_key_values(db, "profiles_config", "profile_id", id);
    p.devices = load_devices(db, profile_devices, id);
    return p;
}

std::optional<api::Profile> get_profile(Database& db, std::int64_t project_id, const std::string& name) {
    auto p = get_profile_contents(db, project_id, name);
    if (!p) return std::nullopt;
    auto id_st = db.prepare("SELECT id FROM profiles WHERE project_id = ? AND name = ?");
    id_st.bind_all(project_id, name);
    id_st.step();
    const auto id = id_st.integer(0);
    auto used = db.prepare("SELECT i.name FROM instances_profiles ip JOIN instances i ON i.id = ip.instance_id"
                           " WHERE ip.profile_id = ? ORDER BY i.name");
    used.bind(1, id);
    while (used.step()) p->used_by.push_back("/1.0/instances/" + used.text(0));
    return p;
}

std::int64_t create_profile(Database& db, std::int64_t project_id, const api::Profile& profile) {
    db.prepare("INSERT INTO profiles (project_id, name, description) VALUES (?, ?, ?)")
        .bind_all(project_id, profile.name, profile.description)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "profiles_config", "profile_id", id, profile.config);
    store_devices(db, profile_devices, id, profile.devices);
    return id;
}

} // namespace lodge::daemon::db
