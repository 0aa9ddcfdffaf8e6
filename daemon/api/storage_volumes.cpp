// /1.0/storage-pools/{pool}/volumes: every volume of a pool (instances',
// cached images', custom ones), and custom volumes' whole life: create,
// update, rename, delete, snapshots and restore. An instance uses a custom
// volume through a disk device naming the pool and the volume as source.
#include "api/storage_volume.hpp"
#include "api/time.hpp"
#include "common/error.hpp"
#include "common/reverter.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "daemon/db/storage_volumes.hpp"
#include "storage/size.hpp"
#include "daemon/server_config.hpp"

#include <cctype>

namespace lodge::daemon {

namespace {

using storage::Volume;
using storage::VolumeType;

std::string volume_url(const std::string& pool, const std::string& type, const std::string& name) {
    return "/1.0/storage-pools/" + pool + "/volumes/" + type + "/" + name;
}

struct PoolRef {
    std::string pool;
    std::int64_t pool_id;
    std::int64_t project_id;
    std::string project;
};

PoolRef pool_of(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) {
        PoolRef r;
        r.pool = request.param("pool");
        auto id = db::storage_pool_id(db, r.pool);
        if (!id) throw Error(404, "Storage pool not found");
        r.pool_id = *id;
        r.project_id = request_project_id(db, request);
        r.project = db::project_name(db, r.project_id);
        return r;
    });
}

void check_type(const std::string& type) {
    if (type != "custom" && type != "container" && type != "image")
        throw Error(400, "Invalid storage volume type \"" + type + "\"");
}

// The instances whose disk devices name this custom volume.
std::vector<std::string> custom_users(db::Database& db, const PoolRef& ref, const std::string& name) {
    std::vector<std::string> users;
    for (const auto& instance : db::all_instances(db, ref.project_id))
        for (const auto& [dev, keys] : instance.expanded_devices) {
            auto k = [&](const char* key) {
                auto it = keys.find(key);
                return it == keys.end() ? std::string() : it->second;
            };
            if (k("type") == "disk" && k("path") != "/" && k("pool") == ref.pool && k("source") == name) {
                users.push_back("/1.0/instances/" + instance.name);
                break;
            }
        }
    return users;
}

std::vector<api::StorageVolume> list(Daemon& daemon, const PoolRef& ref, const std::string& only_type) {
    return daemon.with_db([&](db::Database& db) {
        std::vector<api::StorageVolume> out;
        for (const auto& row : db::pool_volumes(db, ref.pool_id)) {
            if (!only_type.empty() && row.type != only_type) continue;
            if (row.type != "image" && row.project_id != ref.project_id) continue;
            api::StorageVolume v;
            v.name = row.name;
            v.type = row.type;
            v.description = row.description;
            v.config = row.config;
            v.project = row.project;
            v.created_at = row.created_at;
            if (row.type == "container") v.used_by = {"/1.0/instances/" + row.name};
            if (row.type == "image") v.used_by = {"/1.0/images/" + row.name};
            if (row.type == "custom") v.used_by = custom_users(db, ref, row.name);
            out.push_back(v);
            // Snapshots follow their volume, as LXD lists them ("c1/snap0").
            std::vector<std::string> snaps;
            if (row.type == "container") {
                if (auto id = db::instance_id(db, row.project_id, row.name))
                    for (const auto& s : db::instance_snapshots(db, *id)) snaps.push_back(s.name);
            } else if (row.type == "custom") {
                for (const auto& s : db::volume_snapshots(db, row.id)) snaps.push_back(s.name);
            }
            for (const auto& s : snaps) {
                api::StorageVolume sv = v;
                sv.name = row.name + "/" + s;
                sv.config = {};
                sv.used_by = row.type == "container"
                                 ? std::vector<std::string>{"/1.0/instances/" + row.name + "/snapshots/" + s}
                                 : std::vector<std::string>{};
                out.push_back(sv);
            }
        }
        return out;
    });
}

api::Response list_volumes(Daemon& daemon, const Request& request, const std::string& type) {
    const auto ref = pool_of(daemon, request);
    if (!type.empty()) check_type(type);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : list(daemon, ref, type)) {
        if (recursion(request) == 0)
            out.push_back(volume_url(ref.pool, v.type, v.name));
        else
            out.push_back(v);
    }
    return api::sync_response(std::move(out));
}

db::VolumeRow require_volume(Daemon& daemon, const PoolRef& ref, const std::string& type, const std::string& name) {
    check_type(type);
    auto row = daemon.with_db([&](db::Database& db) {
        return db::get_volume(db, ref.pool_id, type == "image" ? *db::project_id(db, "default") : ref.project_id, type,
                              name);
    });
    if (!row) throw Error(404, "Storage volume not found");
    return *row;
}

void check_volume_name(const std::string& name) {
    bool bad = name.empty() || name.size() > 255 || name.front() == '.' || name.front() == '-';
    for (char c : name)
        if (c == '/' || std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            bad = true;
    if (bad) throw Error(400, "Invalid storage volume name \"" + name + "\"");
}

// "size" is the one volume key lodged acts on (a quota where the driver has them).
api::ConfigMap volume_config(const nlohmann::json& body) {
    api::ConfigMap config;
    if (body.contains("config") && body["config"].is_object())
        for (const auto& [k, v] : body["config"].items()) {
            if (!v.is_string()) throw Error(400, "Invalid config: value of \"" + k + "\" must be a string");
            if (k != "size" && k.rfind("user.", 0) != 0)
                throw Error(400, "Invalid storage volume config key \"" + k + "\"");
            config[k] = v.get<std::string>();
        }
    return config;
}

// As LXD stores them: a key set to "" is no key.
api::ConfigMap without_empty(api::ConfigMap config) {
    std::erase_if(config, [](const auto& kv) { return kv.second.empty(); });
    return config;
}

api::Response volume_state(Daemon& daemon, const Request& request) {
    const auto ref = pool_of(daemon, request);
    const auto& type = request.param("type");
    const auto row = require_volume(daemon, ref, type, request.param("volume"));
    const VolumeType kind = type == "container" ? VolumeType::Container
                            : type == "image"   ? VolumeType::Image
                                                : VolumeType::Custom;
    const Volume volume{kind, kind == VolumeType::Image ? row.name : Pools::disk_name(row.project, row.name), {}};
    auto& driver = daemon.pools().driver(ref.pool);
    std::int64_t total = -1;
    if (auto size = row.config.find("size"); size != row.config.end() && !size->second.empty())
        total = static_cast<std::int64_t>(storage::parse_size(size->second));
    nlohmann::json state = {{"usage", {{"used", driver.volume_usage(volume)}, {"total", total}}}};
    return api::sync_response(std::move(state));
}

void apply_size(storage::Driver& driver, const Volume& volume, const api::ConfigMap& config) {
    auto it = config.find("size");
    std::optional<std::uint64_t> bytes;
    if (it != config.end() && !it->second.empty() && it->second != "0") bytes = storage::parse_size(it->second);
    if (!driver.set_quota(volume, bytes) && bytes)
        throw Error(400, "The " + driver.spec().driver + " driver cannot limit a volume's size");
}

api::Response create_volume(Daemon& daemon, const Request& request) {
    const auto ref = pool_of(daemon, request);
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    const auto name = body.value("name", "");
    check_volume_name(name);
    if (body.value("type", "custom") != "custom") throw Error(400, "Only custom volumes can be created");
    if (body.value("content_type", "filesystem") != "filesystem")
        throw Error(400, "Only filesystem volumes are supported (containers take no block volumes)");
    if (body.contains("source") && body["source"].is_object() && !body["source"].value("name", "").empty())
        throw Error(400, "Copying storage volumes is not supported yet");
    const auto config = without_empty(volume_config(body));
    auto& driver = daemon.pools().driver(ref.pool);
    const Volume volume{VolumeType::Custom, Pools::disk_name(ref.project, name), {}};
    daemon.with_db([&](db::Database& db) {
        if (db::get_volume(db, ref.pool_id, ref.project_id, "custom", name))
            throw Error(409, "Storage volume \"" + name + "\" already exists");
    });
    driver.create_volume(volume);
    Reverter undo;
    undo.add([&] { driver.delete_volume(volume); });
    apply_size(driver, volume, config);
    daemon.with_db([&](db::Database& db) {
        db::VolumeRow row;
        row.pool_id = ref.pool_id;
        row.project_id = ref.project_id;
        row.name = name;
        row.type = "custom";
        row.description = body.value("description", "");
        row.created_at = api::format_time(api::now());
        row.config = config;
        db::create_volume(db, row);
    });
    undo.success();
    daemon.events().lifecycle("storage-volume-created", volume_url(ref.pool, "custom", name));
    return api::sync_response(nullptr);
}

api::Response get_volume(Daemon& daemon, const Request& request) {
    const auto ref = pool_of(daemon, request);
    const auto& type = request.param("type");
    const auto& name = request.param("volume");
    require_volume(daemon, ref, type, name);
    for (const auto& v : list(daemon, ref, type))
        if (v.name == name) return api::sync_response(v);
    throw Error(404, "Storage volume not found");
}

api::Response update_volume(Daemon& daemon, const Request& request, bool merge) {
    const auto ref = pool_of(daemon, request);
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    if (request.param("type") != "custom") throw Error(400, "Only custom volumes can be changed");
    auto row = require_volume(daemon, ref, "custom", request.param("volume"));
    auto& driver = daemon.pools().driver(ref.pool);
    const Volume volume{VolumeType::Custom, Pools::disk_name(ref.project, row.name), {}};
    // `lxc storage volume restore` is a PUT with "restore".
    if (auto restore = body.value("restore", ""); !restore.empty()) {
        auto snap = daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, restore); });
        if (!snap) throw Error(404, "Storage volume snapshot not found");
        driver.restore_snapshot(volume.snapshot_of(restore));
        daemon.events().lifecycle("storage-volume-restored", volume_url(ref.pool, "custom", row.name));
        return api::sync_response(nullptr);
    }
    auto config = merge ? row.config : api::ConfigMap{};
    for (const auto& [k, v] : volume_config(body)) config[k] = v;
    config = without_empty(std::move(config));
    apply_size(driver, volume, config);
    const auto description = body.contains("description") ? body.value("description", "") : row.description;
    daemon.with_db([&](db::Database& db) { db::update_volume(db, row.id, description, config); });
    daemon.events().lifecycle("storage-volume-updated", volume_url(ref.pool, "custom", row.name));
    return api::sync_response(nullptr);
}

api::Response rename_volume(Daemon& daemon, const Request& request) {
    const auto ref = pool_of(daemon, request);
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    if (request.param("type") != "custom") throw Error(400, "Only custom volumes can be renamed here");
    if (!body.value("pool", "").empty() && body.value("pool", "") != ref.pool)
        throw Error(400, "Moving storage volumes between pools is not supported yet");
    auto row = require_volume(daemon, ref, "custom", request.param("volume"));
    const auto new_name = body.value("name", "");
    check_volume_name(new_name);
    daemon.with_db([&](db::Database& db) {
        if (db::get_volume(db, ref.pool_id, ref.project_id, "custom", new_name))
            throw Error(409, "Storage volume \"" + new_name + "\" already exists");
        if (!custom_users(db, ref, row.name).empty())
            throw Error(400, "Storage volume \"" + row.name + "\" is in use by an instance");
    });
    auto& driver = daemon.pools().driver(ref.pool);
    const Volume volume{VolumeType::Custom, Pools::disk_name(ref.project, row.name), {}};
    driver.rename_volume(volume, Pools::disk_name(ref.project, new_name));
    Reverter undo;
    undo.add([&] { driver.rename_volume({VolumeType::Custom, Pools::disk_name(ref.project, new_name), {}}, volume.name); });
    daemon.with_db([&](db::Database& db) { db::rename_volume(db, row.id, new_name); });
    undo.success();
    daemon.events().lifecycle("storage-volume-renamed", volume_url(ref.pool, "custom", new_name),
                              {{"old_name", row.name}});
    return api::sync_response(nullptr);
}

api::Response delete_volume(Daemon& daemon, const Request& request) {
    const auto ref = pool_of(daemon, request);
    if (request.param("type") != "custom")
        throw Error(400, "Only custom volumes can be deleted here; instances and images own theirs");
    auto row = require_volume(daemon, ref, "custom", request.param("volume"));
    daemon.with_db([&](db::Database& db) {
        if (!custom_users(db, ref, row.name).empty())
            throw Error(400, "Storage volume \"" + row.name + "\" is in use by an instance");
        db::delete_volume(db, row.id); // the row first: a crash leaves a volume the reconcile removes
    });
    daemon.pools().driver(ref.pool).delete_volume({VolumeType::Custom, Pools::disk_name(ref.project, row.name), {}});
    daemon.events().lifecycle("storage-volume-deleted", volume_url(ref.pool, "custom", row.name));
    return api::sync_response(nullptr);
}

// Custom volumes' snapshots.
api::StorageVolumeSnapshot snapshot_object(const db::VolumeSnapshotRow& s) {
    api::StorageVolumeSnapshot out;
    out.name = s.name;
    out.description = s.description;
    out.created_at = s.created_at;
    out.expires_at = s.expires_at;
    out.config = s.config;
    return out;
}

api::Response run_volume_operation(Daemon& daemon, std::string description, const std::string& url,
                                   OperationWork work) {
    OperationSpec spec;
    spec.description = std::move(description);
    spec.resources = std::map<std::string, std::vector<std::string>>{{"storage_volumes", {url}}};
    auto op = daemon.operations().start(std::move(spec), std::move(work));
    return api::async_response("/1.0/operations/" + op.id, op);
}

void add_snapshot_routes(Router& router, Daemon& daemon, const std::string& base) {
    const auto all = base + "/snapshots";
    const auto one = all + "/{snapshot}";
    router.add("GET", all, [&daemon](Request& r) -> Reply {
        const auto ref = pool_of(daemon, r);
        auto row = require_volume(daemon, ref, "custom", r.param("volume"));
        nlohmann::json out = nlohmann::json::array();
        for (const auto& s : daemon.with_db([&](db::Database& db) { return db::volume_snapshots(db, row.id); })) {
            if (recursion(r) == 0)
                out.push_back(volume_url(ref.pool, "custom", row.name) + "/snapshots/" + s.name);
            else
                out.push_back(snapshot_object(s));
        }
        return api::sync_response(std::move(out));
    });
    router.add("POST", all, [&daemon](Request& r) -> Reply {
        const auto ref = pool_of(daemon, r);
        auto row = require_volume(daemon, ref, "custom", r.param("volume"));
        const auto body = json_body(r);
        if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
        auto existing = daemon.with_db([&](db::Database& db) { return db::volume_snapshots(db, row.id); });
        std::vector<std::string> names;
        for (const auto& s : existing) names.push_back(s.name);
        auto name = body.value("name", "");
        if (name.empty()) name = next_snapshot_name("snap%d", names);
        check_snapshot_name(name);
        for (const auto& n : names)
            if (n == name) throw Error(409, "Snapshot \"" + name + "\" already exists");
        std::string expires_at = "0001-01-01T00:00:00Z";
        if (body.contains("expires_at") && body["expires_at"].is_string()) {
            expires_at = body["expires_at"].get<std::string>();
            api::Time t{};
            if (!api::parse_time(expires_at, t)) throw Error(400, "Invalid expires_at \"" + expires_at + "\"");
        }
        const auto url = volume_url(ref.pool, "custom", row.name);
        return run_volume_operation(daemon, "Snapshotting storage volume", url,
                                    [&daemon, ref, row, name, expires_at, url](OperationContext&) {
            auto& driver = daemon.pools().driver(ref.pool);
            const Volume snap{VolumeType::Custom, Pools::disk_name(ref.project, row.name), name};
            driver.create_snapshot(snap);
            Reverter undo;
            undo.add([&] { driver.delete_snapshot(snap); });
            daemon.with_db([&](db::Database& db) {
                db::VolumeSnapshotRow s;
                s.name = name;
                s.created_at = api::format_time(api::now());
                s.expires_at = expires_at;
                db::create_volume_snapshot(db, row.id, s);
            });
            undo.success();
            daemon.events().lifecycle("storage-volume-snapshot-created", url + "/snapshots/" + name);
        });
    });
    router.add("GET", one, [&daemon](Request& r) -> Reply {
        const auto ref = pool_of(daemon, r);
        auto row = require_volume(daemon, ref, "custom", r.param("volume"));
        auto s = daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, r.param("snapshot")); });
        if (!s) throw Error(404, "Storage volume snapshot not found");
        return api::sync_response(snapshot_object(*s));
    });
    router.add("DELETE", one, [&daemon](Request& r) -> Reply {
        const auto ref = pool_of(daemon, r);
        auto row = require_volume(daemon, ref, "custom", r.param("volume"));
        auto s = daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, r.param("snapshot")); });
        if (!s) throw Error(404, "Storage volume snapshot not found");
        const auto url = volume_url(ref.pool, "custom", row.name);
        return run_volume_operation(daemon, "Deleting storage volume snapshot", url, [&daemon, ref, row, s, url](OperationContext&) {
            daemon.with_db([&](db::Database& db) { db::delete_volume_snapshot(db, s->id); });
            daemon.pools().driver(ref.pool).delete_snapshot(
                {VolumeType::Custom, Pools::disk_name(ref.project, row.name), s->name});
            daemon.events().lifecycle("storage-volume-snapshot-deleted", url + "/snapshots/" + s->name);
        });
    });
    router.add("POST", one, [&daemon](Request& r) -> Reply {
        const auto ref = pool_of(daemon, r);
        auto row = require_volume(daemon, ref, "custom", r.param("volume"));
        auto s = daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, r.param("snapshot")); });
        if (!s) throw Error(404, "Storage volume snapshot not found");
        const auto new_name = json_body(r).value("name", "");
        check_snapshot_name(new_name);
        if (daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, new_name); }))
            throw Error(409, "Snapshot \"" + new_name + "\" already exists");
        const auto url = volume_url(ref.pool, "custom", row.name);
        return run_volume_operation(daemon, "Renaming storage volume snapshot", url,
                                    [&daemon, ref, row, s, new_name, url](OperationContext&) {
            auto& driver = daemon.pools().driver(ref.pool);
            const Volume snap{VolumeType::Custom, Pools::disk_name(ref.project, row.name), s->name};
            driver.rename_snapshot(snap, new_name);
            daemon.with_db([&](db::Database& db) { db::rename_volume_snapshot(db, s->id, new_name); });
            daemon.events().lifecycle("storage-volume-snapshot-renamed", url + "/snapshots/" + new_name,
                                      {{"old_name", s->name}});
        });
    });
    for (const char* method : {"PUT", "PATCH"})
        router.add(method, one, [&daemon](Request& r) -> Reply {
            const auto ref = pool_of(daemon, r);
            auto row = require_volume(daemon, ref, "custom", r.param("volume"));
            auto s = daemon.with_db([&](db::Database& db) { return db::get_volume_snapshot(db, row.id, r.param("snapshot")); });
            if (!s) throw Error(404, "Storage volume snapshot not found");
            const auto body = json_body(r);
            const auto description = body.contains("description") ? body.value("description", "") : s->description;
            auto expires_at = s->expires_at;
            if (body.contains("expires_at")) {
                expires_at = body["expires_at"].is_string() ? body["expires_at"].get<std::string>() : "0001-01-01T00:00:00Z";
                api::Time t{};
                if (!api::parse_time(expires_at, t)) throw Error(400, "Invalid expires_at \"" + expires_at + "\"");
            }
            daemon.with_db([&](db::Database& db) { db::update_volume_snapshot(db, s->id, description, expires_at); });
            return api::sync_response(nullptr);
        });
}

} // namespace

void add_storage_volume_routes(Router& router, Daemon& daemon) {
    const std::string base = "/1.0/storage-pools/{pool}/volumes";
    router.add("GET", base, [&daemon](Request& r) -> Reply { return list_volumes(daemon, r, ""); });
    router.add("POST", base, [&daemon](Request& r) -> Reply { return create_volume(daemon, r); });
    router.add("GET", base + "/{type}", [&daemon](Request& r) -> Reply { return list_volumes(daemon, r, r.param("type")); });
    router.add("POST", base + "/{type}", [&daemon](Request& r) -> Reply {
        if (r.param("type") != "custom") throw Error(400, "Only custom volumes can be created");
        return create_volume(daemon, r);
    });
    const auto one = base + "/{type}/{volume}";
    router.add("GET", one, [&daemon](Request& r) -> Reply { return get_volume(daemon, r); });
    router.add("PUT", one, [&daemon](Request& r) -> Reply { return update_volume(daemon, r, false); });
    router.add("PATCH", one, [&daemon](Request& r) -> Reply { return update_volume(daemon, r, true); });
    router.add("POST", one, [&daemon](Request& r) -> Reply { return rename_volume(daemon, r); });
    router.add("DELETE", one, [&daemon](Request& r) -> Reply { return delete_volume(daemon, r); });
    router.add("GET", one + "/state", [&daemon](Request& r) -> Reply { return volume_state(daemon, r); });
    add_snapshot_routes(router, daemon, one);
}

} // namespace lodge::daemon
