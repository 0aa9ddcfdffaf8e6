// /1.0/profiles in LXD 5.0.2's shapes (lxd/profiles.go): list, create, get,
// replace (PUT), merge (PATCH), rename (POST) and delete, per project, with
// every write checked against the config schema in one transaction.
#include "common/error.hpp"
#include "daemon/api/request_body.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "profiles/schema.hpp"
#include "profiles/values.hpp"

#include <algorithm>
#include <cctype>

namespace lodge::daemon {

namespace {

using nlohmann::json;

// LXD's checks on a profile name (profilesPost, profilePost), plus white
// space, which no client can pass through a command line intact.
void check_profile_name(const std::string& name) {
    if (name.empty()) throw Error(400, "No name provided");
    if (name.find('/') != std::string::npos) throw Error(400, "Profile names may not contain slashes");
    if (name == "." || name == "..") throw Error(400, "Invalid profile name \"" + name + "\"");
    if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::isspace(c); }))
        throw Error(400, "Invalid profile name \"" + name + "\": profile names may not contain white space");
}

// devices of a request, as config_field (request_body.hpp) reads config.
std::optional<api::DeviceMap> devices_field(const json& body) {
    if (!body.contains("devices") || body["devices"].is_null()) return std::nullopt;
    try {
        return body["devices"].get<api::DeviceMap>();
    } catch (const json::exception&) {
        throw Error(400, "\"devices\" must be an object of devices, each an object of string values");
    }
}

// LXD stores no empty values: an empty value is how `lxc profile unset`
// and `lxc profile device unset` remove a key. Then the schema checks the rest.
void normalize_and_validate(api::Profile& p) {
    std::erase_if(p.config, [](const auto& kv) { return kv.second.empty(); });
    for (auto& [_, keys] : p.devices)
        std::erase_if(keys, [](const auto& kv) { return kv.first != "type" && kv.second.empty(); });
    profiles::validate_config(p.config, profiles::ConfigScope::profile);
    profiles::validate_devices(p.devices);
}

// The root disk of a device map: the disk mounted at "/", as LXD's
// shared.GetRootDiskDevice finds it.
std::pair<std::string, std::map<std::string, std::string>> root_disk(const api::DeviceMap& devices) {
    for (const auto& [name, keys] : devices) {
        auto type = keys.find("type"), path = keys.find("path");
        if (type != keys.end() && type->second == "disk" && path != keys.end() && path->second == "/")
            return {name, keys};
    }
    return {};
}

// LXD's doProfileUpdate rule: the root disk's pool may not change or go
// while an instance takes its root disk from this profile.
void check_root_disk_kept(db::Database& db, std::int64_t project_id, const std::string& profile,
                          const api::DeviceMap& before, const api::DeviceMap& after) {
    const auto [old_key, old_root] = root_disk(before);
    const auto [_, new_root] = root_disk(after);
    if (profiles::value_of(old_root, "pool") == profiles::value_of(new_root, "pool")) return;
    const auto users = db::profile_users(db, project_id, profile);
    if (users.empty()) return;
    for (const auto& instance : db::all_instances(db, project_id)) {
        if (std::find(users.begin(), users.end(), instance.name) == users.end()) continue;
        if (!profiles::value_of(root_disk(instance.devices).second, "pool").empty()) continue; // its own root disk
        for (auto it = instance.profiles.rbegin(); it != instance.profiles.rend(); ++it) {
            if (*it == profile) {
                if (before.count(old_key))
                    throw Error(400, "At least one instance relies on this profile's root disk device");
                continue;
            }
            auto contents = db::get_profile_contents(db, project_id, *it);
            if (contents && contents->devices.count(old_key)) break; // a later profile gives it
        }
    }
}

std::string project_of_id(Daemon& daemon, std::int64_t project_id) {
    return daemon.with_db([&](db::Database& db) { return db::project_name(db, project_id); });
}

// The profile's URL as LXD's api.URL writes it: ?project= outside default.
std::string profile_url(const std::string& project, const std::string& name) {
    return "/1.0/profiles/" + name + (project == "default" ? "" : "?project=" + project);
}

void profile_event(Daemon& daemon, const std::string& action, const std::string& project, const std::string& name,
                   json context = nullptr) {
    api::Event e;
    e.type = "lifecycle";
    e.timestamp = api::now();
    e.metadata = api::lifecycle_metadata(action, profile_url(project, name), std::move(context));
    e.project = project;
    daemon.events().publish(e);
}

std::int64_t project_id_of(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
}

api::Response list_profiles(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        const auto project = request_project_id(db, request);
        const auto name = db::project_name(db, project);
        const std::string suffix = name == "default" ? "" : "?project=" + name;
        auto out = collection(depth, "/1.0/profiles/", db::profile_names(db, project),
                              [&](const std::string& profile) { return *db::get_profile(db, project, profile); });
        if (depth == 0)
            for (auto& url : out) url = url.get<std::string>() + suffix;
        return api::sync_response(std::move(out));
    });
}

api::Response get_profile(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    return daemon.with_db([&](db::Database& db) {
        auto profile = db::get_profile(db, request_project_id(db, request), name);
        if (!profile) throw Error(404, "Profile not found");
        return api::sync_response(*profile);
    });
}

HttpResponse create_profile(Daemon& daemon, const Request& request) {
    const auto body = object_body(request);
    api::Profile p;
    p.name = text_field(body, "name");
    check_profile_name(p.name);
    p.description = text_field(body, "description");
    p.config = config_field(body).value_or(api::ConfigMap{});
    p.devices = devices_field(body).value_or(api::DeviceMap{});
    normalize_and_validate(p);
    const auto project_id = project_id_of(daemon, request);
    daemon.with_db([&](db::Database& db) { db.transaction([&] { db::create_profile(db, project_id, p); }); });
    const auto project = project_of_id(daemon, project_id);
    profile_event(daemon, "profile-created", project, p.name);
    return created(profile_url(project, p.name));
}

// PUT replaces description, config and devices; PATCH merges them into the
// stored ones key by key (config) and device by device, as profilePatch
// does. Running instances get the change through Instances::profile_changed.
api::Response update_profile(Daemon& daemon, const Request& request, bool merge) {
    const auto body = object_body(request);
    const auto& name = request.param("name");
    const auto project_id = project_id_of(daemon, request);
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            auto current = db::get_profile_contents(db, project_id, name);
            if (!current) throw Error(404, "Profile not found");
            api::Profile next = *current;
            const auto config = config_field(body);
            const auto devices = devices_field(body);
            if (merge) {
                if (body.contains("description") && body["description"].is_string())
                    next.description = body["description"].get<std::string>();
                if (config)
                    for (const auto& [k, v] : *config) next.config[k] = v;
                if (devices)
                    for (const auto& [k, v] : *devices) next.devices[k] = v;
            } else {
                next.description = text_field(body, "description");
                next.config = config.value_or(api::ConfigMap{});
                next.devices = devices.value_or(api::DeviceMap{});
            }
            normalize_and_validate(next);
            check_root_disk_kept(db, project_id, name, current->devices, next.devices);
            db::update_profile(db, project_id, name, next);
        });
    });
    profile_event(daemon, "profile-updated", project_of_id(daemon, project_id), name);
    auto restart = daemon.instances().profile_changed(project_id, name);
    if (restart.empty()) return api::sync_response(json::object());
    return api::sync_response(json{{"restart_required", restart}});
}

HttpResponse rename_profile(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    if (name == "default") throw Error(403, "The \"default\" profile cannot be renamed");
    const auto body = object_body(request);
    const auto new_name = text_field(body, "name");
    check_profile_name(new_name);
    const auto project_id = project_id_of(daemon, request);
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] { db::rename_profile(db, project_id, name, new_name); });
    });
    const auto project = project_of_id(daemon, project_id);
    profile_event(daemon, "profile-renamed", project, new_name, {{"old_name", name}});
    return created(profile_url(project, new_name));
}

api::Response delete_profile(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    if (name == "default") throw Error(403, "The \"default\" profile cannot be deleted");
    const auto project_id = project_id_of(daemon, request);
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            const auto users = db::profile_users(db, project_id, name);
            if (!users.empty()) {
                std::string list;
                for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
                throw Error(400, "Profile is currently in use by: " + list);
            }
            db::delete_profile(db, project_id, name);
        });
    });
    profile_event(daemon, "profile-deleted", project_of_id(daemon, project_id), name);
    return api::sync_response(json::object());
}

} // namespace

void add_profile_routes(Router& router, Daemon& daemon) {
    const std::string one = "/1.0/profiles/{name}";
    router.add("GET", "/1.0/profiles", [&daemon](Request& r) -> Reply { return list_profiles(daemon, r); });
    router.add("POST", "/1.0/profiles", [&daemon](Request& r) -> Reply { return create_profile(daemon, r); });
    router.add("GET", one, [&daemon](Request& r) -> Reply { return get_profile(daemon, r); });
    router.add("PUT", one, [&daemon](Request& r) -> Reply { return update_profile(daemon, r, false); });
    router.add("PATCH", one, [&daemon](Request& r) -> Reply { return update_profile(daemon, r, true); });
    router.add("POST", one, [&daemon](Request& r) -> Reply { return rename_profile(daemon, r); });
    router.add("DELETE", one, [&daemon](Request& r) -> Reply { return delete_profile(daemon, r); });
}

} // namespace lodge::daemon
