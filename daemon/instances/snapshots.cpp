// Instance snapshots: taking them (consistent while the instance runs),
// listing, renaming, expiring, deleting and restoring them. The files are
// the storage driver's; the config, devices and profiles of the moment are
// kept in the database beside them.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "daemon/server_config.hpp"
#include "runtime/control.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <algorithm>

namespace lodge::daemon {

namespace {

std::string snapshot_url(const std::string& name, const std::string& snap) {
    return "/1.0/instances/" + name + "/snapshots/" + snap;
}

api::Response run_snapshot_operation(Daemon& daemon, std::string description, const std::string& name,
                                     OperationWork work) {
    OperationSpec spec;
    spec.description = std::move(description);
    spec.resources = std::map<std::string, std::vector<std::string>>{
        {"instances", {"/1.0/instances/" + name}}, {"containers", {"/1.0/containers/" + name}}};
    auto op = daemon.operations().start(std::move(spec), std::move(work));
    return api::async_response("/1.0/operations/" + op.id, op);
}

bool is_zero_time(const std::string& t) {
    api::Time parsed{};
    return t.empty() || (api::parse_time(t, parsed) && parsed == api::Time{});
}

} // namespace

void check_snapshot_name(const std::string& name) {
    bool bad = name.empty() || name == "." || name == ".." || name.size() > 255;
    for (char c : name)
        if (c == '/' || std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            bad = true;
    if (bad) throw Error(400, "Invalid snapshot name \"" + name + "\": it may not be empty or contain \"/\" or spaces");
}

std::string next_snapshot_name(const std::string& pattern, const std::vector<std::string>& existing) {
    const auto at = pattern.find("%d");
    if (at == std::string::npos) {
        for (const auto& e : existing)
            if (e == pattern) throw Error(409, "Snapshot \"" + pattern + "\" already exists");
        return pattern;
    }
    const auto prefix = pattern.substr(0, at), suffix = pattern.substr(at + 2);
    long next = 0;
    for (const auto& e : existing) {
        if (e.size() <= prefix.size() + suffix.size() || e.compare(0, prefix.size(), prefix) != 0 ||
            e.compare(e.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const auto digits = e.substr(prefix.size(), e.size() - prefix.size() - suffix.size());
        if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
        next = std::max(next, std::stol(digits) + 1);
    }
    return prefix + std::to_string(next) + suffix;
}

void Instances::take_snapshot(const InstanceLocation& where, const std::string& snap, const std::string& expires_at) {
    auto& driver = daemon_.pools().driver(where.pool);
    const auto volume = where.volume.snapshot_of(snap);
    if (driver.exists(volume)) throw Error(409, "Snapshot \"" + snap + "\" already exists on disk");
    // A copy of a running guest's files under a freeze: what the copy sees
    // is one moment. A btrfs snapshot is one moment by itself.
    const bool freeze = !driver.atomic_snapshots() && status(where) == api::StatusCode::Running;
    if (freeze) runtime::freeze_container(run_dir_, where.runtime_name, true);
    Reverter thaw;
    if (freeze) thaw.add([&] { runtime::freeze_container(run_dir_, where.runtime_name, false); });
    driver.create_snapshot(volume);
    thaw.fail(); // thaws now, as it would on an error
    Reverter undo;
    undo.add([&] { driver.delete_snapshot(volume); });
    daemon_.with_db([&](db::Database& db) {
        const auto project_id = *db::project_id(db, where.project);
        auto instance = db::get_instance(db, project_id, where.name);
        if (!instance) throw Error(404, "Instance not found");
        api::InstanceSnapshot s;
        s.name = snap;
        s.architecture = instance->architecture;
        s.ephemeral = instance->ephemeral;
        s.description = "";
        s.profiles = instance->profiles;
        s.config = instance->config;
        s.devices = instance->devices;
        s.created_at = api::format_time(api::now());
        s.expires_at = expires_at.empty() ? "0001-01-01T00:00:00Z" : expires_at;
        db.transaction([&] { db::create_instance_snapshot(db, where.id, s); });
    });
    undo.success();
    daemon_.events().lifecycle("instance-snapshot-created", snapshot_url(where.name, snap));
}

void Instances::drop_snapshot(const InstanceLocation& where, const std::string& snap) {
    // The row first: a crash between leaves files the reconcile removes.
    daemon_.with_db([&](db::Database& db) {
        auto id = db::instance_snapshot_id(db, where.id, snap);
        if (!id) throw Error(404, "Snapshot not found");
        db::delete_instance_snapshot(db, *id);
    });
    auto& driver = daemon_.pools().driver(where.pool);
    if (driver.exists(where.volume.snapshot_of(snap))) driver.delete_snapshot(where.volume.snapshot_of(snap));
    daemon_.events().lifecycle("instance-snapshot-deleted", snapshot_url(where.name, snap));
}

void Instances::scheduled_snapshot(std::int64_t project_id, const std::string& name) {
    const auto where = locate(project_id, name);
    const auto instance = get(project_id, name);
    auto config = [&](const char* key) {
        auto it = instance.expanded_config.find(key);
        return it == instance.expanded_config.end() ? std::string() : it->second;
    };
    if (status(where) == api::StatusCode::Stopped && config("snapshots.schedule.stopped") != "true") return;
    auto lock = lock_for(name);
    std::lock_guard guard(*lock);
    std::vector<std::string> existing;
    for (const auto& s : snapshots(project_id, name)) existing.push_back(s.name);
    const auto snap = next_snapshot_name(config("snapshots.pattern").empty() ? "snap%d" : config("snapshots.pattern"),
                                         existing);
    std::string expires_at;
    if (auto t = profiles::expiry_after(api::now(), config("snapshots.expiry"))) expires_at = api::format_time(*t);
    take_snapshot(where, snap, expires_at);
    spdlog::info("instance {}: took scheduled snapshot {}", name, snap);
}

void Instances::expire_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap) {
    const auto where = locate(project_id, name);
    auto lock = lock_for(name);
    std::lock_guard guard(*lock);
    drop_snapshot(where, snap);
}

api::Response Instances::snapshot(std::int64_t project_id, const std::string& name, SnapshotCreate request) {
    const auto where = locate(project_id, name);
    const auto instance = get(project_id, name);
    auto config = [&](const char* key) {
        auto it = instance.expanded_config.find(key);
        return it == instance.expanded_config.end() ? std::string() : it->second;
    };
    if (request.name.empty()) {
        const auto pattern = config("snapshots.pattern").empty() ? "snap%d" : config("snapshots.pattern");
        std::vector<std::string> existing;
        for (const auto& s : snapshots(project_id, name)) existing.push_back(s.name);
        request.name = next_snapshot_name(pattern, existing);
    }
    check_snapshot_name(request.name);
    if (is_zero_time(request.expires_at)) {
        request.expires_at.clear();
        if (!config("snapshots.expiry").empty())
            if (auto t = profiles::expiry_after(api::now(), config("snapshots.expiry"))) request.expires_at = api::format_time(*t);
    } else {
        api::Time t{};
        if (!api::parse_time(request.expires_at, t))
            throw Error(400, "Invalid expires_at \"" + request.expires_at + "\": use RFC 3339 in UTC");
    }
    daemon_.with_db([&](db::Database& db) {
        if (db::instance_snapshot_id(db, where.id, request.name))
            throw Error(409, "Snapshot \"" + request.name + "\" already exists");
    });
    return run_snapshot_operation(daemon_, "Snapshotting instance", name, [this, where, request](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        take_snapshot(where, request.name, request.expires_at);
    });
}

std::vector<api::InstanceSnapshot> Instances::snapshots(std::int64_t project_id, const std::string& name) {
    return snapshots(locate(project_id, name));
}

std::vector<api::InstanceSnapshot> Instances::snapshots(const InstanceLocation& where) {
    return daemon_.with_db([&](db::Database& db) { return db::instance_snapshots(db, where.id); });
}

api::InstanceSnapshot Instances::get_snapshot(std::int64_t project_id, const std::string& name,
                                              const std::string& snap) {
    const auto where = locate(project_id, name);
    auto s = daemon_.with_db([&](db::Database& db) { return db::get_instance_snapshot(db, where.id, snap); });
    if (!s) throw Error(404, "Snapshot not found");
    return *s;
}

api::Response Instances::remove_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap) {
    const auto where = locate(project_id, name);
    get_snapshot(project_id, name, snap);
    return run_snapshot_operation(daemon_, "Deleting snapshot", name, [this, where, snap](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        drop_snapshot(where, snap);
    });
}

api::Response Instances::rename_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap,
                                         const std::string& new_name) {
    const auto where = locate(project_id, name);
    get_snapshot(project_id, name, snap);
    check_snapshot_name(new_name);
    daemon_.with_db([&](db::Database& db) {
        if (db::instance_snapshot_id(db, where.id, new_name))
            throw Error(409, "Name \"" + new_name + "\" already in use");
    });
    return run_snapshot_operation(daemon_, "Renaming snapshot", name, [this, where, snap, new_name](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        auto& driver = daemon_.pools().driver(where.pool);
        driver.rename_snapshot(where.volume.snapshot_of(snap), new_name);
        Reverter undo;
        undo.add([&] { driver.rename_snapshot(where.volume.snapshot_of(new_name), snap); });
        daemon_.with_db([&](db::Database& db) {
            db::rename_instance_snapshot(db, *db::instance_snapshot_id(db, where.id, snap), new_name);
        });
        undo.success();
        daemon_.events().lifecycle("instance-snapshot-renamed", snapshot_url(where.name, new_name),
                                   {{"old_name", snap}});
    });
}

api::Response Instances::update_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap,
                                         const nlohmann::json& body) {
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    const auto where = locate(project_id, name);
    auto current = get_snapshot(project_id, name, snap);
    auto description = body.contains("description") && body["description"].is_string()
                           ? body["description"].get<std::string>()
                           : current.description;
    auto expires_at = current.expires_at;
    if (body.contains("expires_at")) {
        expires_at = body["expires_at"].is_string() ? body["expires_at"].get<std::string>() : "";
        api::Time t{};
        if (expires_at.empty()) expires_at = "0001-01-01T00:00:00Z";
        if (!api::parse_time(expires_at, t))
            throw Error(400, "Invalid expires_at \"" + expires_at + "\": use RFC 3339 in UTC");
    }
    daemon_.with_db([&](db::Database& db) {
        db::update_instance_snapshot(db, *db::instance_snapshot_id(db, where.id, snap), description, expires_at);
    });
    daemon_.events().lifecycle("instance-snapshot-updated", snapshot_url(name, snap));
    return run_snapshot_operation(daemon_, "Updating snapshot", name, [](OperationContext&) {});
}

api::Response Instances::restore(std::int64_t project_id, const std::string& name, const std::string& snap) {
    const auto where = locate(project_id, name);
    const auto snapshot = get_snapshot(project_id, name, snap);
    return run_snapshot_operation(daemon_, "Restoring snapshot", name,
                                  [this, project_id, where, snapshot](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        // LXD stops a running instance (not a clean shutdown) and starts it
        // again on the restored files.
        const bool was_running = status(where) != api::StatusCode::Stopped;
        if (was_running) stop_now(where, 0, true);
        auto& driver = daemon_.pools().driver(where.pool);
        driver.restore_snapshot(where.volume.snapshot_of(snapshot.name));
        daemon_.with_db([&](db::Database& db) {
            auto current = db::get_instance(db, project_id, where.name);
            if (!current) throw Error(404, "Instance not found");
            api::Instance next = *current;
            next.config = snapshot.config;
            next.devices = snapshot.devices;
            next.profiles = snapshot.profiles;
            next.ephemeral = snapshot.ephemeral;
            // The instance keeps its identity and lodged's record of its power state.
            for (const char* key : {"volatile.uuid", "volatile.last_state.power"})
                if (auto it = current->config.find(key); it != current->config.end()) next.config[key] = it->second;
            db.transaction([&] { db::update_instance(db, where.id, next); });
        });
        write_guest_hostname(where.rootfs, where.name);
        if (was_running) start_now(project_id, where);
        daemon_.events().lifecycle("instance-restored", "/1.0/instances/" + where.name,
                                   {{"snapshot", snapshot.name}});
    });
}

} // namespace lodge::daemon
