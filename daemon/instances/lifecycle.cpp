// Creating, starting, stopping, renaming and deleting instances. Each
// action is checked at once where it can be (so a client gets a plain 4xx
// for bad input), then runs as an operation; every step undoes itself when
// a later one fails.
#include "daemon/instances/instances.hpp"
#include "profiles/schema.hpp"

#include "api/time.hpp"
#include "common/error.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "daemon/images/templates.hpp"
#include "storage/size.hpp"
#include "daemon/db/storage_volumes.hpp"
#include "daemon/uuid.hpp"
#include "runtime/control.hpp"
#include "runtime/inventory.hpp"
#include "runtime/monitor_client.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

namespace lodge::daemon {

namespace {

namespace fs = std::filesystem;

// `lxc stop` sends timeout -1: wait for the guest. A guest that never
// halts is killed after this long rather than holding a worker forever.
constexpr int unlimited_stop_ms = 10 * 60 * 1000;

std::string instance_url(const std::string& name) { return "/1.0/instances/" + name; }

api::Response run_operation(Daemon& daemon, std::string description, const std::string& name, bool creating,
                            OperationWork work) {
    OperationSpec spec;
    spec.description = std::move(description);
    std::map<std::string, std::vector<std::string>> resources{{"instances", {instance_url(name)}}};
    // A creation lists the instance under both trees, as LXD does.
    if (creating) resources["containers"] = {"/1.0/containers/" + name};
    spec.resources = std::move(resources);
    auto op = daemon.operations().start(std::move(spec), std::move(work));
    const auto url = "/1.0/operations/" + op.id;
    return api::async_response(url, op);
}

void make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) throw_errno("create " + path);
}

// A copy of an instance volume (with the given snapshots, oldest first)
// from one pool to another or within one: within a pool the driver copies
// cheaply (btrfs snapshots), across pools the files are copied. On failure
// nothing is left on the target.
void copy_between(storage::Driver& from, const storage::Volume& source, storage::Driver& to,
                  const storage::Volume& target, const std::vector<api::InstanceSnapshot>& snapshots) {
    Reverter undo;
    undo.add([&] {
        if (to.exists(target)) {
            to.delete_volume(target);
            return;
        }
        for (const auto& s : snapshots)
            if (to.exists(target.snapshot_of(s.name))) to.delete_snapshot(target.snapshot_of(s.name));
    });
    const bool same_pool = &from == &to;
    for (const auto& s : snapshots) {
        const auto src = source.parent().snapshot_of(s.name);
        if (same_pool)
            to.copy_snapshot(target.snapshot_of(s.name), src);
        else
            to.import_volume(target.snapshot_of(s.name), from.path(src));
    }
    if (same_pool)
        to.copy_volume(target, source);
    else
        to.import_volume(target, from.path(source));
    undo.success();
}

// What an image's templates see of an instance.
TemplateInstance template_view(const api::Instance& instance, const api::ConfigMap& expanded_config) {
    TemplateInstance t;
    t.name = instance.name;
    t.architecture = instance.architecture;
    t.ephemeral = instance.ephemeral;
    t.type = instance.type;
    t.config = expanded_config;
    auto p = expanded_config.find("security.privileged");
    t.privileged = p != expanded_config.end() && (p->second == "true" || p->second == "1");
    return t;
}

// The root disk's "size" (LXD's key) as a quota on the instance's volume,
// where the driver has quotas (btrfs); on a driver without them a size is
// refused with the reason, never silently ignored. No size: no limit.
void apply_root_size(storage::Driver& driver, const storage::Volume& volume, const api::DeviceMap& devices) {
    std::optional<std::uint64_t> bytes;
    for (const auto& [name, keys] : devices) {
        auto path = keys.find("path"), size = keys.find("size");
        if (path == keys.end() || path->second != "/" || size == keys.end() || size->second.empty()) continue;
        bytes = storage::parse_size(size->second);
    }
    if (!driver.set_quota(volume, bytes) && bytes)
        throw Error(400, "The root disk's size cannot be enforced on storage pool \"" + driver.spec().name +
                             "\" (driver " + driver.spec().driver + " has no quotas); use a btrfs pool or "
                             "remove the size");
}

} // namespace

void record_new_instance(Daemon& daemon, std::int64_t project_id, api::Instance& instance, const std::string& pool,
                         const std::vector<api::InstanceSnapshot>& snapshots) {
    instance.config["volatile.uuid"] = random_uuid();
    instance.config["volatile.last_state.power"] = "STOPPED";
    instance.created_at = api::format_time(api::now());
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            db::create_instance(db, project_id, instance);
            db::VolumeRow row;
            row.pool_id = *db::storage_pool_id(db, pool);
            row.project_id = project_id;
            row.name = instance.name;
            row.type = "container";
            row.created_at = instance.created_at;
            db::create_volume(db, row);
            const auto id = *db::instance_id(db, project_id, instance.name);
            for (const auto& s : snapshots) db::create_instance_snapshot(db, id, s);
        });
    });
}

std::shared_ptr<std::mutex> Instances::lock_for(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& l = locks_[name];
    if (!l) l = std::make_shared<std::mutex>();
    return l;
}

void Instances::reserve(const std::string& name) {
    std::lock_guard lock(mutex_);
    if (!reserved_.insert(name).second) throw Error(409, "Instance \"" + name + "\" is being created");
}

void Instances::release(const std::string& name) {
    std::lock_guard lock(mutex_);
    reserved_.erase(name);
}

api::Instance Instances::get(std::int64_t project_id, const std::string& name) {
    auto instance = daemon_.with_db([&](db::Database& db) { return db::get_instance(db, project_id, name); });
    if (!instance) throw Error(404, "Instance not found");
    InstanceLocation where;
    where.runtime_name = name;
    instance->status = status(where);
    return *instance;
}

api::Response Instances::create(std::int64_t project_id, InstanceCreate request) {
    auto& instance = request.instance;
    if (instance.name.empty()) {
        instance.name = pick_name([&](const std::string& name) {
            std::lock_guard lock(mutex_);
            return reserved_.count(name) > 0 ||
                   daemon_.with_db([&](db::Database& db) { return db::instance_id(db, project_id, name).has_value(); });
        });
    }
    if (!runtime::valid_container_name(instance.name))
        throw Error(400, "Invalid instance name \"" + instance.name +
                             "\": use letters, digits and dashes, at most 63 characters, not starting with a "
                             "digit or a dash");
    if (instance.type.empty()) instance.type = "container";
    if (instance.type != "container")
        throw Error(400, "Instance type \"" + instance.type + "\" is not supported; lodge runs containers");
    // A copy request carries the source's config back (lxc copy sends
    // volatile.base_image); lodged sets volatile keys itself.
    if (request.source_type == "copy")
        std::erase_if(instance.config, [](const auto& kv) { return kv.first.rfind("volatile.", 0) == 0; });
    profiles::validate_config(instance.config, profiles::ConfigScope::instance);
    profiles::validate_devices(instance.devices);
    for (const auto& [key, value] : instance.config)
        if (key.rfind("volatile.", 0) == 0) throw Error(400, "Invalid config: volatile keys are set by lodged: " + key);

    // A copy's source: the instance (its volume) or one of its snapshots.
    std::optional<InstanceLocation> copy_from;
    std::string copy_snapshot;
    if (request.source_type == "copy") {
        const auto& src = request.copy_source;
        const auto slash = src.find('/');
        const auto src_name = src.substr(0, slash);
        if (src_name.empty()) throw Error(400, "The copy source needs an instance name (source.source)");
        copy_from = locate(project_id, src_name);
        std::map<std::string, std::string> source_config;
        if (slash != std::string::npos) {
            copy_snapshot = src.substr(slash + 1);
            const auto snap = get_snapshot(project_id, src_name, copy_snapshot);
            source_config = snap.config;
            if (!request.devices_given) instance.devices = snap.devices;
            if (!request.profiles_given) instance.profiles = snap.profiles;
            instance.architecture = snap.architecture;
        } else {
            const auto source = get(project_id, src_name);
            source_config = source.config;
            if (!request.devices_given) instance.devices = source.devices;
            if (!request.profiles_given) instance.profiles = source.profiles;
            instance.architecture = source.architecture;
        }
        if (!request.config_given)
            for (const auto& [k, v] : source_config)
                if (k.rfind("volatile.", 0) != 0) instance.config[k] = v;
        if (auto it = source_config.find("volatile.base_image"); it != source_config.end())
            request.image = it->second;
        if (!request.instance_only && copy_snapshot.empty())
            for (const auto& s : snapshots(project_id, src_name)) request.copy_snapshots.push_back(s);
    }

    ImageSource image;
    const std::string root_pool = daemon_.with_db([&](db::Database& db) {
        if (db::instance_id(db, project_id, instance.name))
            throw Error(409, "Instance \"" + instance.name + "\" already exists");
        for (const auto& p : instance.profiles)
            if (!db::get_profile_contents(db, project_id, p)) throw Error(404, "Profile \"" + p + "\" not found");
        if (request.source_type == "image") {
            if (request.image.empty()) throw Error(400, "The image source needs an alias or a fingerprint");
            if (!request.remote) image = resolve_image(db, request.image);
        } else if (request.source_type != "none" && request.source_type != "copy") {
            throw Error(400, "Unsupported instance source type \"" + request.source_type + "\"");
        }
        // The pool the root disk names, from the instance or its profiles.
        std::string pool;
        for (const auto& p : instance.profiles) {
            const auto profile = db::get_profile_contents(db, project_id, p);
            for (const auto& [dev, keys] : profile->devices)
                if (keys.count("path") && keys.at("path") == "/" && keys.count("pool")) pool = keys.at("pool");
        }
        for (const auto& [dev, keys] : instance.devices)
            if (keys.count("path") && keys.at("path") == "/" && keys.count("pool")) pool = keys.at("pool");
        if (pool.empty()) throw Error(400, "No root disk device: give the instance or one of its profiles a disk "
                                           "device with path / and a pool");
        if (!db::storage_pool_id(db, pool)) throw Error(404, "Storage pool \"" + pool + "\" not found");
        instance.project = db::project_name(db, project_id);
        for (const auto& p : instance.profiles) {
            const auto profile = db::get_profile_contents(db, project_id, p);
            for (const auto& [k, v] : profile->config) instance.expanded_config[k] = v;
            for (const auto& [k, v] : profile->devices) instance.expanded_devices[k] = v;
        }
        for (const auto& [k, v] : instance.config) instance.expanded_config[k] = v;
        for (const auto& [k, v] : instance.devices) instance.expanded_devices[k] = v;
        return pool;
    });

    reserve(instance.name);
    Reverter unreserve;
    unreserve.add([this, name = instance.name] { release(name); });
    auto response = run_operation(daemon_, "Creating instance", instance.name, true,
                                  [this, project_id, request, image, root_pool, copy_from,
                                   copy_snapshot](OperationContext& ctx) mutable {
        auto& instance = request.instance;
        Reverter done;
        done.add([this, name = instance.name] { release(name); });
        if (request.remote) {
            const auto fingerprint = pull_image(daemon_, *request.remote, ctx);
            image = daemon_.with_db([&](db::Database& db) { return resolve_image(db, fingerprint); });
        }
        auto& driver = daemon_.pools().driver(root_pool);
        const storage::Volume volume{storage::VolumeType::Container, Pools::disk_name(instance.project, instance.name),
                                     {}};
        if (driver.exists(volume))
            throw Error(409, "Instance volume " + driver.path(volume) + " already exists");
        if (request.source_type == "image") {
            driver.copy_volume(volume, daemon_.pools().image_volume(root_pool, image.fingerprint));
        } else if (copy_from) {
            // The source's snapshots first, oldest first, then its current files.
            auto& from = daemon_.pools().driver(copy_from->pool);
            const auto source = copy_snapshot.empty() ? copy_from->volume : copy_from->volume.snapshot_of(copy_snapshot);
            // A running source is copied as one moment, as snapshots are:
            // frozen for a file copy, a snapshot by itself on btrfs.
            const bool freeze = copy_snapshot.empty() && !(&from == &driver && from.atomic_snapshots()) &&
                                status(*copy_from) == api::StatusCode::Running;
            if (freeze) runtime::freeze_container(run_dir_, copy_from->runtime_name, true);
            Reverter thaw;
            if (freeze) thaw.add([&] { runtime::freeze_container(run_dir_, copy_from->runtime_name, false); });
            copy_between(from, source, driver, volume, request.copy_snapshots);
        } else {
            driver.create_volume(volume);
        }
        Reverter undo;
        undo.add([&] { driver.delete_volume(volume); });
        apply_root_size(driver, volume, instance.expanded_devices);
        const auto dir = driver.path(volume);
        if (copy_from) {
            if (!request.image.empty()) instance.config["volatile.base_image"] = request.image;
            write_guest_hostname(dir + "/rootfs", instance.name);
            apply_templates(dir, "copy", template_view(instance, instance.expanded_config));
        } else if (request.source_type == "image") {
            daemon_.with_db([&](db::Database& db) { db::mark_image_used(db, image.fingerprint); });
            instance.architecture = image.architecture.empty() ? instance.architecture : image.architecture;
            for (const auto& [k, v] : image.properties) instance.config["image." + k] = v;
            instance.config["volatile.base_image"] = image.fingerprint;
            write_guest_hostname(dir + "/rootfs", instance.name);
            apply_templates(dir, "create", template_view(instance, instance.expanded_config));
        } else {
            make_dir(dir + "/rootfs", 0755);
        }
        record_new_instance(daemon_, project_id, instance, root_pool, request.copy_snapshots);
        undo.success();
        daemon_.events().lifecycle("instance-created", instance_url(instance.name));
    });
    unreserve.success();
    return response;
}

void Instances::start_now(std::int64_t project_id, const InstanceLocation& where) {
    auto instance = daemon_.with_db([&](db::Database& db) { return db::get_instance(db, project_id, where.name); });
    if (!instance) throw Error(404, "Instance not found");
    auto status = runtime_status(where.runtime_name).status;
    if (status == "running" || status == "frozen") throw Error(400, "The instance is already running");
    if (status == "unsupervised")
        throw Error(409, "Instance \"" + where.name + "\" still has processes from a run whose monitor died; "
                         "stop it with force first");
    // A stopped container's previous run record would make the runtime
    // refuse nothing, but keeping it would show a stale exit.
    forget(where.runtime_name);
    apply_templates(where.dir, "start", template_view(*instance, instance->expanded_config));
    assign_idmap(where, *instance);
    auto cfg = container_config(*instance, where);
    Reverter revert;
    cfg.interfaces = plug_network_devices(where, *instance, revert);
    const auto launched = runtime::launch_container(cfg, run_dir_);
    try {
        start_proxies(where, launched.init_pid);
    } catch (...) {
        // A proxy that cannot listen fails the start, as in LXD.
        try {
            runtime::stop_container(run_dir_, where.runtime_name, 0, true);
        } catch (const std::exception& e) {
            spdlog::error("instance {}: {}", where.name, e.what());
        }
        // Proxies, host sides and the record, all at once.
        revert.success();
        unplug_network_devices(where);
        throw;
    }
    revert.success();
    record_started_config(where, *instance);
    daemon_.with_db([&](db::Database& db) {
        db::set_instance_config(db, where.id, "volatile.last_state.power", "RUNNING");
        db::touch_instance(db, where.id, api::format_time(api::now()));
    });
}

void Instances::stop_now(const InstanceLocation& where, int timeout, bool force) {
    const int timeout_ms = timeout < 0 ? unlimited_stop_ms : timeout * 1000;
    runtime::stop_container(run_dir_, where.runtime_name, timeout_ms, force);
    unplug_network_devices(where);
    daemon_.with_db([&](db::Database& db) {
        db::set_instance_config(db, where.id, "volatile.last_state.power", "STOPPED");
    });
}

api::Response Instances::change_state(std::int64_t project_id, const std::string& name, const StateChange& change) {
    const auto where = locate(project_id, name);
    const auto now = status(where);
    const bool running = now != api::StatusCode::Stopped;
    const auto& action = change.action;
    std::string description;
    if (action == "start") {
        if (running) throw Error(400, "The instance is already running");
        description = "Starting instance";
    } else if (action == "stop") {
        if (!running) throw Error(400, "The instance is already stopped");
        description = "Stopping instance";
    } else if (action == "restart") {
        if (!running) throw Error(400, "The instance isn't running");
        description = "Restarting instance";
    } else if (action == "freeze") {
        if (now != api::StatusCode::Running) throw Error(400, "The instance isn't running");
        description = "Freezing instance";
    } else if (action == "unfreeze") {
        if (now != api::StatusCode::Frozen) throw Error(400, "The instance isn't frozen");
        description = "Unfreezing instance";
    } else {
        throw Error(400, "Unknown state action \"" + action + "\": use start, stop, restart, freeze or unfreeze");
    }
    return run_operation(daemon_, description, name, false, [this, project_id, where, change](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        const auto url = instance_url(where.name);
        const auto& action = change.action;
        if (action == "start") {
            start_now(project_id, where);
            daemon_.events().lifecycle("instance-started", url);
            if (change.wait_ready) wait_ready(where, change.ready_timeout);
        } else if (action == "stop") {
            stop_now(where, change.timeout, change.force);
            daemon_.events().lifecycle(change.force || change.timeout == 0 ? "instance-stopped" : "instance-shutdown",
                                       url);
        } else if (action == "restart") {
            stop_now(where, change.timeout, change.force);
            start_now(project_id, where);
            daemon_.events().lifecycle("instance-restarted", url);
            if (change.wait_ready) wait_ready(where, change.ready_timeout);
        } else {
            runtime::freeze_container(run_dir_, where.runtime_name, action == "freeze");
            daemon_.events().lifecycle(action == "freeze" ? "instance-paused" : "instance-resumed", url);
        }
    });
}

api::Response Instances::remove(std::int64_t project_id, const std::string& name) {
    const auto where = locate(project_id, name);
    if (status(where) != api::StatusCode::Stopped) throw Error(400, "Instance is running");
    auto instance = get(project_id, name);
    if (instance.expanded_config["security.protection.delete"] == "true")
        throw Error(400, "Instance is protected from deletion (security.protection.delete)");
    return run_operation(daemon_, "Deleting instance", name, false, [this, project_id, where](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        if (status(where) != api::StatusCode::Stopped) throw Error(400, "Instance is running");
        forget(where.runtime_name);
        // The database rows go first: a crash after them leaves a volume
        // that the next start removes, never a row without its files.
        daemon_.with_db([&](db::Database& db) {
            db.transaction([&] {
                if (auto pool_id = db::storage_pool_id(db, where.pool))
                    if (auto row = db::get_volume(db, *pool_id, project_id, "container", where.name))
                        db::delete_volume(db, row->id);
                db::delete_instance(db, where.id);
            });
        });
        daemon_.pools().driver(where.pool).delete_volume(where.volume);
        remove_backups(where.project, where.name);
        daemon_.networks().forget_instance(where.name);
        std::error_code ec;
        fs::remove_all(where.logs, ec); // exec's recorded output
        daemon_.events().lifecycle("instance-deleted", instance_url(where.name));
    });
}

api::Response Instances::rename(std::int64_t project_id, const std::string& name, const std::string& new_name) {
    const auto where = locate(project_id, name);
    if (!runtime::valid_container_name(new_name)) throw Error(400, "Invalid instance name \"" + new_name + "\"");
    if (status(where) != api::StatusCode::Stopped) throw Error(400, "Renaming of running instance not allowed");
    daemon_.with_db([&](db::Database& db) {
        if (db::instance_id(db, project_id, new_name)) throw Error(409, "Name \"" + new_name + "\" already in use");
    });
    reserve(new_name);
    Reverter unreserve;
    unreserve.add([this, new_name] { release(new_name); });
    auto response = run_operation(daemon_, "Renaming instance", name, false,
                                  [this, project_id, where, new_name](OperationContext&) {
        Reverter done;
        done.add([this, new_name] { release(new_name); });
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        auto& driver = daemon_.pools().driver(where.pool);
        const auto new_volume = Pools::disk_name(where.project, new_name);
        driver.rename_volume(where.volume, new_volume);
        Reverter undo;
        undo.add([&] { driver.rename_volume({where.volume.type, new_volume, {}}, where.volume.name); });
        daemon_.with_db([&](db::Database& db) {
            db.transaction([&] {
                db::rename_instance(db, where.id, new_name);
                if (auto pool_id = db::storage_pool_id(db, where.pool))
                    if (auto row = db::get_volume(db, *pool_id, project_id, "container", where.name))
                        db::rename_volume(db, row->id, new_name);
            });
        });
        undo.success();
        forget(where.runtime_name);
        rename_backups(where.project, where.name, new_name);
        daemon_.networks().forget_instance(where.name); // the next start writes the new name
        write_guest_hostname(driver.path({where.volume.type, new_volume, {}}) + "/rootfs", new_name);
        std::error_code ec;
        if (fs::exists(where.logs, ec)) fs::rename(where.logs, logs_dir(where.project, new_name), ec);
        daemon_.events().lifecycle("instance-renamed", instance_url(new_name),
                                   {{"old_name", where.name}});
    });
    unreserve.success();
    return response;
}

bool Instances::update(std::int64_t project_id, const std::string& name, const nlohmann::json& body, bool merge) {
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    auto lock = lock_for(name);
    std::lock_guard guard(*lock);
    const auto where = locate(project_id, name);
    auto current = get(project_id, name);
    api::Instance next = current;
    auto config_of = [&](const char* field) {
        return body.at(field).is_null() ? api::ConfigMap{} : body.at(field).get<api::ConfigMap>();
    };
    if (body.contains("description")) next.description = body.at("description").get<std::string>();
    if (body.contains("ephemeral")) next.ephemeral = body.at("ephemeral").get<bool>();
    if (body.contains("config")) {
        auto incoming = config_of("config");
        std::erase_if(incoming, [](const auto& kv) { return kv.first.rfind("volatile.", 0) == 0; });
        if (merge) {
            for (const auto& [k, v] : incoming) next.config[k] = v;
        } else {
            std::erase_if(next.config, [](const auto& kv) { return kv.first.rfind("volatile.", 0) != 0; });
            for (const auto& [k, v] : incoming) next.config[k] = v;
        }
        profiles::validate_config(next.config, profiles::ConfigScope::instance);
    }
    if (body.contains("devices")) {
        auto devices = body.at("devices").is_null() ? api::DeviceMap{} : body.at("devices").get<api::DeviceMap>();
        profiles::validate_devices(devices);
        if (merge)
            for (const auto& [k, v] : devices) next.devices[k] = v;
        else
            next.devices = devices;
    }
    if (body.contains("profiles") && !body.at("profiles").is_null())
        next.profiles = body.at("profiles").get<std::vector<std::string>>();
    daemon_.with_db([&](db::Database& db) { db.transaction([&] { db::update_instance(db, where.id, next); }); });
    // A changed root disk size takes effect at once; refused, the update is undone.
    const auto updated = get(project_id, name);
    auto root_size = [](const api::DeviceMap& devices) {
        for (const auto& [dev, keys] : devices)
            if (keys.count("path") && keys.at("path") == "/" && keys.count("size")) return keys.at("size");
        return std::string();
    };
    if (root_size(updated.expanded_devices) != root_size(current.expanded_devices)) {
        try {
            apply_root_size(daemon_.pools().driver(where.pool), where.volume, updated.expanded_devices);
        } catch (...) {
            daemon_.with_db([&](db::Database& db) { db.transaction([&] { db::update_instance(db, where.id, current); }); });
            throw;
        }
    }
    bool restart = false;
    try {
        restart = apply_live(where, updated);
    } catch (...) {
        // The running instance cannot take it (a device whose source is
        // missing, a limit the kernel refuses): nothing is kept.
        daemon_.with_db([&](db::Database& db) { db.transaction([&] { db::update_instance(db, where.id, current); }); });
        if (root_size(updated.expanded_devices) != root_size(current.expanded_devices))
            apply_root_size(daemon_.pools().driver(where.pool), where.volume, current.expanded_devices);
        throw;
    }
    daemon_.events().lifecycle("instance-updated", instance_url(name));
    return restart;
}

} // namespace lodge::daemon
