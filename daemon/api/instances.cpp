// /1.0/instances and the older /1.0/containers tree that pylxd and Ansible
// use: list, create, get, update, rename, delete, and the state endpoint.
// Handlers parse and check; daemon/instances/ does the work.
#include "common/error.hpp"
#include "daemon/api/filter.hpp"
#include "daemon/api/instance_json.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"

namespace lodge::daemon {

namespace {

// recursion 2 (container_full) and GET of one instance at recursion 1
// (instance_get_full) add the state, snapshots and backups.
nlohmann::json full_object(Daemon& daemon, const api::Instance& instance, std::int64_t project_id) {
    nlohmann::json j = instance;
    // Located once: lists at recursion 2 do this for every instance.
    const auto where = daemon.instances().locate(project_id, instance.name);
    j["state"] = daemon.instances().state(where);
    const auto snapshots = daemon.instances().snapshots(where);
    j["snapshots"] = snapshots.empty() ? nlohmann::json(nullptr) : nlohmann::json(snapshots);
    nlohmann::json backups = nlohmann::json::array();
    for (const auto& b : daemon.instances().backups(where))
        backups.push_back(Instances::backup_json(b));
    j["backups"] = backups.empty() ? nlohmann::json(nullptr) : backups;
    return j;
}

// A sync envelope around metadata already written as JSON text.
HttpResponse sync_with_text(const std::string& metadata_json) {
    auto r = to_http(api::sync_response(nullptr));
    const std::string placeholder = "\"metadata\":null";
    r.body.replace(r.body.find(placeholder), placeholder.size(), "\"metadata\":" + metadata_json);
    return r;
}

Reply list_instances(Daemon& daemon, const Request& request, const std::string& tree) {
    const int depth = recursion(request);
    const Filter filter(request.query_value("filter"));
    const auto project_id = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    nlohmann::json out = nlohmann::json::array();
    if (depth == 0 && filter.empty()) {
        for (const auto& name : daemon.with_db([&](db::Database& db) { return db::instance_names(db, project_id); }))
            out.push_back(tree + "/" + name);
        return api::sync_response(std::move(out));
    }
    auto instances = daemon.with_db([&](db::Database& db) { return db::all_instances(db, project_id); });
    if (depth == 1 && filter.empty()) {
        // The common large answer, written without a JSON document.
        std::string text = "[";
        text.reserve(instances.size() * 1024);
        for (auto& instance : instances) {
            InstanceLocation where;
            where.runtime_name = instance.name;
            instance.status = daemon.instances().status(where);
            if (text.size() > 1) text += ',';
            append_instance_json(text, instance);
        }
        text += ']';
        return sync_with_text(text);
    }
    for (auto& instance : instances) {
        InstanceLocation where;
        where.runtime_name = instance.name;
        instance.status = daemon.instances().status(where);
        nlohmann::json j = instance;
        if (!filter.matches(j)) continue;
        if (depth == 0)
            out.push_back(tree + "/" + instance.name);
        else if (depth == 1)
            out.push_back(std::move(j));
        else
            out.push_back(full_object(daemon, instance, project_id));
    }
    return api::sync_response(std::move(out));
}

api::Response create_instance(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    InstanceCreate create;
    auto& i = create.instance;
    i.name = body.value("name", "");
    i.description = body.value("description", "");
    i.type = body.value("type", "container");
    i.ephemeral = body.value("ephemeral", false);
    if (body.contains("config") && !body["config"].is_null()) i.config = body["config"].get<api::ConfigMap>();
    if (body.contains("devices") && !body["devices"].is_null()) i.devices = body["devices"].get<api::DeviceMap>();
    create.config_given = body.contains("config") && !body["config"].is_null();
    create.devices_given = body.contains("devices") && !body["devices"].is_null();
    create.profiles_given = body.contains("profiles") && !body["profiles"].is_null();
    if (create.profiles_given)
        i.profiles = body["profiles"].get<std::vector<std::string>>();
    else
        i.profiles = {"default"};
    if (auto a = body.value("architecture", ""); !a.empty()) i.architecture = a;
    const auto source = body.contains("source") && body["source"].is_object() ? body["source"] : nlohmann::json::object();
    create.source_type = source.value("type", "none");
    if (create.source_type.empty()) create.source_type = "none";
    create.image = source.value("fingerprint", "");
    if (create.image.empty()) create.image = source.value("alias", "");
    create.copy_source = source.value("source", "");
    create.instance_only = source.value("instance_only", false) || source.value("container_only", false);
    if (source.contains("server") && !source.value("server", "").empty()) create.remote = remote_image_source(source);
    const auto project_id = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    return daemon.instances().create(project_id, std::move(create));
}

std::int64_t project_of(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
}

api::Response get_instance(Daemon& daemon, const Request& request) {
    const auto project_id = project_of(daemon, request);
    auto instance = daemon.instances().get(project_id, request.param("name"));
    if (recursion(request) >= 1) return api::sync_response(full_object(daemon, instance, project_id));
    return api::sync_response(instance);
}

api::Response get_state(Daemon& daemon, const Request& request) {
    const auto project_id = project_of(daemon, request);
    return api::sync_response(daemon.instances().state(daemon.instances().locate(project_id, request.param("name"))));
}

api::Response put_state(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    StateChange change;
    change.action = body.value("action", "");
    change.timeout = body.value("timeout", -1);
    change.force = body.value("force", false);
    change.wait_ready = body.value("wait", false);
    if (body.value("stateful", false)) throw Error(400, "Stateful stop and start are not supported");
    return daemon.instances().change_state(project_of(daemon, request), request.param("name"), change);
}

api::Response update_instance(Daemon& daemon, const Request& request, bool merge) {
    const auto body = json_body(request);
    const auto project_id = project_of(daemon, request);
    // `lxc restore` sends a bare InstancePut with only "restore" set.
    if (body.is_object() && body.contains("restore") && body["restore"].is_string() &&
        !body["restore"].get<std::string>().empty()) {
        if (body.value("stateful", false)) throw Error(400, "Stateful restore is not supported");
        // lxc sends "instance/snapshot".
        auto snap = body["restore"].get<std::string>();
        if (auto slash = snap.find('/'); slash != std::string::npos) {
            if (snap.substr(0, slash) != request.param("name"))
                throw Error(400, "Snapshot \"" + snap + "\" is not one of instance \"" + request.param("name") + "\"");
            snap = snap.substr(slash + 1);
        }
        return daemon.instances().restore(project_id, request.param("name"), snap);
    }
    const bool restart = daemon.instances().update(project_id, request.param("name"), body, merge);
    // lodge's own: what could not be applied to the running instance waits
    // for its restart, and the answer says so (lxc ignores the metadata).
    const nlohmann::json restart_note =
        restart ? nlohmann::json{{"restart_required", {request.param("name")}}} : nlohmann::json(nullptr);
    if (merge) return api::sync_response(restart_note);
    // PUT answers with an operation in LXD (the `lxc config set` trace
    // waits for it); the update itself is already done.
    OperationSpec spec;
    spec.description = "Updating instance";
    spec.resources = std::map<std::string, std::vector<std::string>>{
        {"instances", {"/1.0/instances/" + request.param("name")}}};
    auto op = daemon.operations().start(std::move(spec), [restart_note](OperationContext& ctx) {
        if (!restart_note.is_null()) ctx.set_metadata(restart_note);
    });
    return api::async_response("/1.0/operations/" + op.id, op);
}

api::Response post_instance(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    if (body.value("migration", false)) throw Error(400, "Migration is not supported");
    const auto name = body.value("name", "");
    if (name.empty()) throw Error(400, "A new name is required");
    return daemon.instances().rename(project_of(daemon, request), request.param("name"), name);
}

} // namespace

void add_instance_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        const auto one = tree + "/{name}";
        router.add("GET", tree, [&daemon, tree](Request& r) -> Reply { return list_instances(daemon, r, tree); });
        router.add("POST", tree, [&daemon](Request& r) -> Reply {
            if (is_backup_upload(r)) return import_instance_backup(daemon, r); // lxc import
            return create_instance(daemon, r);
        });
        router.add("GET", one, [&daemon](Request& r) -> Reply { return get_instance(daemon, r); });
        router.add("PUT", one, [&daemon](Request& r) -> Reply { return update_instance(daemon, r, false); });
        router.add("PATCH", one, [&daemon](Request& r) -> Reply { return update_instance(daemon, r, true); });
        router.add("POST", one, [&daemon](Request& r) -> Reply { return post_instance(daemon, r); });
        router.add("DELETE", one, [&daemon](Request& r) -> Reply {
            return daemon.instances().remove(project_of(daemon, r), r.param("name"));
        });
        router.add("GET", one + "/state", [&daemon](Request& r) -> Reply { return get_state(daemon, r); });
        router.add("PUT", one + "/state", [&daemon](Request& r) -> Reply { return put_state(daemon, r); });
    }
}

} // namespace lodge::daemon
