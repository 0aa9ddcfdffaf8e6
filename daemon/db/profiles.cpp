// Profiles table access.
#include "daemon/db/profiles.hpp"

#include "common/error.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/projects.hpp"

#include <nlohmann/json.hpp>

namespace lodge::daemon::db {

namespace {

constexpr DeviceTables profile_devices{"profiles_devices", "profile_id", "profiles_devices_config",
                                       "profile_device_id"};

std::optional<std::int64_t> find_profile(Database& db, std::int64_t project_id, const std::string& name) {
    auto st = db.prepare("SELECT id FROM profiles WHERE project_id = ? AND name = ?");
    st.bind_all(project_id, name);
    if (!st.step()) return std::nullopt;
    return st.integer(0);
}

std::int64_t require_profile(Database& db, std::int64_t project_id, const std::string& name) {
    auto id = find_profile(db, project_id, name);
    if (!id) throw Error(404, "Profile not found");
    return *id;
}

std::vector<std::string> users_of(Database& db, std::int64_t profile_id) {
    auto used = db.prepare("SELECT i.name FROM instances_profiles ip JOIN instances i ON i.id = ip.instance_id"
                           " WHERE ip.profile_id = ? ORDER BY i.name");
    used.bind(1, profile_id);
    std::vector<std::string> out;
    while (used.step()) out.push_back(used.text(0));
    return out;
}

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
    // Instances outside the default project are named with it, as LXD's
    // api.URL does.
    const auto project = project_name(db, project_id);
    const std::string suffix = project == "default" ? "" : "?project=" + project;
    for (const auto& user : users_of(db, require_profile(db, project_id, name)))
        p->used_by.push_back("/1.0/instances/" + user + suffix);
    return p;
}

std::vector<std::string> profile_users(Database& db, std::int64_t project_id, const std::string& name) {
    return users_of(db, require_profile(db, project_id, name));
}

std::int64_t create_profile(Database& db, std::int64_t project_id, const api::Profile& profile) {
    if (find_profile(db, project_id, profile.name)) throw Error(409, "The profile already exists");
    db.prepare("INSERT INTO profiles (project_id, name, description) VALUES (?, ?, ?)")
        .bind_all(project_id, profile.name, profile.description)
        .run();
    const auto id = db.last_insert_id();
    store_key_values(db, "profiles_config", "profile_id", id, profile.config);
    store_devices(db, profile_devices, id, profile.devices);
    return id;
}

void update_profile(Database& db, std::int64_t project_id, const std::string& name, const api::Profile& profile) {
    const auto id = require_profile(db, project_id, name);
    db.prepare("UPDATE profiles SET description = ? WHERE id = ?").bind_all(profile.description, id).run();
    store_key_values(db, "profiles_config", "profile_id", id, profile.config);
    store_devices(db, profile_devices, id, profile.devices);
}

void rename_profile(Database& db, std::int64_t project_id, const std::string& name, const std::string& new_name) {
    const auto id = require_profile(db, project_id, name);
    if (find_profile(db, project_id, new_name)) throw Error(409, "Name \"" + new_name + "\" already in use");
    db.prepare("UPDATE profiles SET name = ? WHERE id = ?").bind_all(new_name, id).run();
    // Snapshots remember their profiles by name (for restore): rename there too.
    auto snaps = db.prepare("SELECT s.id, s.profiles FROM instances_snapshots s JOIN instances i ON i.id = s.instance_id"
                            " WHERE i.project_id = ?");
    snaps.bind(1, project_id);
    std::vector<std::pair<std::int64_t, std::string>> changed;
    while (snaps.step()) {
        auto list = nlohmann::json::parse(snaps.text(1), nullptr, false);
        if (!list.is_array()) continue;
        bool hit = false;
        for (auto& p : list)
            if (p.is_string() && p.get<std::string>() == name) p = new_name, hit = true;
        if (hit) changed.emplace_back(snaps.integer(0), list.dump());
    }
    for (const auto& [snap_id, text] : changed)
        db.prepare("UPDATE instances_snapshots SET profiles = ? WHERE id = ?").bind_all(text, snap_id).run();
}

void delete_profile(Database& db, std::int64_t project_id, const std::string& name) {
    const auto id = require_profile(db, project_id, name);
    db.prepare("DELETE FROM profiles WHERE id = ?").bind(1, id).run();
}

std::string profile_root_pool(Database& db, std::int64_t project_id, const std::string& name) {
    auto p = get_profile_contents(db, project_id, name);
    if (!p) return "";
    for (const auto& [dev, keys] : p->devices)
        if (keys.count("path") && keys.at("path") == "/" && keys.count("pool")) return keys.at("pool");
    return "";
}

} // namespace lodge::daemon::db
