// Creating, starting, stopping, renaming and deleting instances. Each
// action is checked at once where it can be (so a client gets a plain 4xx
// for bad input), then runs as an operation; every step undoes itself when
// a later one fails.
#include "daemon/instances/instances.hpp"

#include "api/time.hpp"
#include "common/error.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/storage_pools.hpp"
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

} // namespace

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
    validate_instance_config(instance.config);
    for (const auto& [key, value] : instance.config)
        if (key.rfind("volatile.", 0) == 0) throw Error(400, "Invalid config: volatile keys are set by lodged: " + key);

    ImageSource image;
    const std::string root_pool = daemon_.with_db([&](db::Database& db) {
        if (db::instance_id(db, project_id, instance.name))
            throw Error(409, "Instance \"" + instance.name + "\" already exists");
        for (const auto& p : instance.profiles)
            if (!db::get_profile_contents(db, project_id, p)) throw Error(404, "Profile \"" + p + "\" not found");
        if (request.source_type == "image") {
            if (request.image.empty()) throw Error(400, "The image source needs an alias or a fingerprint");
            image = resolve_image(db, request.image);
        } else if (request.source_type != "none") {
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
        auto p = db::get_storage_pool(db, pool);
        if (!p) throw Error(404, "Storage pool \"" + pool + "\" not found");
        return p->config["source"];
    });

    reserve(instance.name);
    Reverter unreserve;
    unreserve.add([this, name = instance.name] { release(name); });
    auto response = run_operation(daemon_, "Creating instance", instance.name, true,
                                  [this, project_id, request, image, root_pool](OperationContext&) mutable {
        auto& instance = request.instance;
        Reverter done;
        done.add([this, name = instance.name] { release(name); });
        const auto dir = root_pool + "/containers/" + instance.name;
        make_dir(root_pool + "/containers", 0711);
        if (::mkdir(dir.c_str(), 0711) != 0)
            throw Error(errno == EEXIST ? 409 : 500, "Instance directory " + dir + " already exists");
        Reverter undo;
        undo.add([dir] {
            std::error_code ec;
            fs::remove_all(dir, ec);
        });
        if (request.source_type == "image") {
            daemon_.images().unpack(image.fingerprint, dir);
            daemon_.with_db([&](db::Database& db) { db::mark_image_used(db, image.fingerprint); });
            instance.architecture = image.architecture.empty() ? instance.architecture : image.architecture;
            for (const auto& [k, v] : image.properties) instance.config["image." + k] = v;
            instance.config["volatile.base_image"] = image.fingerprint;
            write_guest_hostname(dir + "/rootfs", instance.name);
        } else {
            make_dir(dir + "/rootfs", 0755);
        }
        instance.config["volatile.uuid"] = random_uuid();
        instance.config["volatile.last_state.power"] = "STOPPED";
        instance.created_at = api::format_time(api::now());
        daemon_.with_db([&](db::Database& db) {
            db.transaction([&] { db::create_instance(db, project_id, instance); });
        });
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
    runtime::launch_container(container_config(*instance, where), run_dir_);
    daemon_.with_db([&](db::Database& db) {
        db::set_instance_config(db, where.id, "volatile.last_state.power", "RUNNING");
        db::touch_instance(db, where.id, api::format_time(api::now()));
    });
}

void Instances::stop_now(const InstanceLocation& where, int timeout, bool force) {
    const int timeout_ms = timeout < 0 ? unlimited_stop_ms : timeout * 1000;
    runtime::stop_container(run_dir_, where.runtime_name, timeout_ms, force);
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
    return run_operation(daemon_, "Deleting instance", name, false, [this, where](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        if (status(where) != api::StatusCode::Stopped) throw Error(400, "Instance is running");
        forget(where.runtime_name);
        // The database row goes first: a crash after it leaves a directory
        // that the next start removes, never a row without its files.
        daemon_.with_db([&](db::Database& db) { db::delete_instance(db, where.id); });
        std::error_code ec;
        fs::remove_all(where.dir, ec);
        if (ec) spdlog::warn("instance {}: removing {}: {}", where.name, where.dir, ec.message());
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
                                  [this, where, new_name](OperationContext&) {
        Reverter done;
        done.add([this, new_name] { release(new_name); });
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        const auto new_dir = fs::path(where.dir).parent_path() / new_name;
        fs::rename(where.dir, new_dir);
        Reverter undo;
        undo.add([&] { fs::rename(new_dir, where.dir); });
        daemon_.with_db([&](db::Database& db) { db::rename_instance(db, where.id, new_name); });
        undo.success();
        forget(where.runtime_name);
        write_guest_hostname((new_dir / "rootfs").string(), new_name);
        std::error_code ec;
        if (fs::exists(where.logs, ec)) fs::rename(where.logs, logs_dir(where.project, new_name), ec);
        daemon_.events().lifecycle("instance-renamed", instance_url(new_name),
                                   {{"old_name", where.name}});
    });
    unreserve.success();
    return response;
}

void Instances::update(std::int64_t project_id, const std::string& name, const nlohmann::json& body, bool merge) {
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
        validate_instance_config(next.config);
    }
    if (body.contains("devices")) {
        auto devices = body.at("devices").is_null() ? api::DeviceMap{} : body.at("devices").get<api::DeviceMap>();
        if (merge)
            for (const auto& [k, v] : devices) next.devices[k] = v;
        else
            next.devices = devices;
    }
    if (body.contains("profiles") && !body.at("profiles").is_null())
        next.profiles = body.at("profiles").get<std::vector<std::string>>();
    daemon_.with_db([&](db::Database& db) { db.transaction([&] { db::update_instance(db, where.id, next); }); });
    daemon_.events().lifecycle("instance-updated", instance_url(name));
}

void Instances::remove_leftovers() {
    auto known = daemon_.with_db([&](db::Database& db) {
        std::vector<std::pair<std::string, std::set<std::string>>> pools;
        for (const auto& pool : db::storage_pool_names(db)) {
            auto p = db::get_storage_pool(db, pool);
            if (!p || p->driver != "dir") continue;
            std::set<std::string> names;
            auto st = db.prepare("SELECT name FROM instances");
            while (st.step()) names.insert(st.text(0));
            pools.emplace_back(p->config["source"] + "/containers", std::move(names));
        }
        return pools;
    });
    for (const auto& [dir, names] : known) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            const auto name = entry.path().filename().string();
            if (names.count(name)) continue;
            spdlog::warn("removing {}: left by an instance creation that did not finish", entry.path().string());
            std::error_code rm;
            fs::remove_all(entry.path(), rm);
            if (rm) spdlog::error("removing {}: {}", entry.path().string(), rm.message());
        }
    }
}

} // namespace lodge::daemon
