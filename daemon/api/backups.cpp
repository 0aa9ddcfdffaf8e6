// /1.0/instances/{name}/backups (and the /1.0/containers tree): list,
// create, get, rename, delete and export of instance backups; and the
// backup upload branch of POST /1.0/instances. daemon/instances/backups.cpp
// does the work.
#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/api/migrate.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"

namespace lodge::daemon {

namespace {

std::int64_t project_of(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
}

api::Response list_backups(Daemon& daemon, const Request& request, const std::string& tree) {
    const auto& name = request.param("name");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : daemon.instances().backups(project_of(daemon, request), name)) {
        if (recursion(request) == 0)
            out.push_back(tree + "/" + name + "/backups/" + b.name);
        else
            out.push_back(Instances::backup_json(b));
    }
    return api::sync_response(std::move(out));
}

api::Response create_backup(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    Instances::BackupCreate create;
    auto text = [&](const char* key) {
        return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
    };
    auto flag = [&](const char* key) { return body.contains(key) && body[key].is_boolean() && body[key].get<bool>(); };
    create.name = text("name");
    create.expires_at = text("expires_at");
    create.instance_only = flag("instance_only") || flag("container_only");
    create.optimized_storage = flag("optimized_storage");
    create.compression = text("compression_algorithm");
    return daemon.instances().create_backup(project_of(daemon, request), request.param("name"), std::move(create));
}

api::Response post_backup(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    const auto new_name = body.value("name", "");
    if (new_name.empty()) throw Error(400, "A new name is required");
    return daemon.instances().rename_backup(project_of(daemon, request), request.param("name"),
                                            request.param("backup"), new_name);
}

// The tarball itself, as LXD's FileResponse sends one file.
HttpResponse export_backup(Daemon& daemon, const Request& request) {
    const auto path =
        daemon.instances().backup_file(project_of(daemon, request), request.param("name"), request.param("backup"));
    HttpResponse reply;
    reply.content_type = "application/octet-stream";
    reply.body = read_file(path);
    reply.headers.emplace_back("Content-Disposition", "inline;filename=" + request.param("backup"));
    return reply;
}

} // namespace

bool is_backup_upload(const Request& request) {
    auto it = request.headers.find("content-type");
    return it != request.headers.end() && it->second == "application/octet-stream";
}

api::Response import_instance_backup(Daemon& daemon, Request& request) {
    if (request.body_file && request.headers.count("x-lodge-migrate"))
        return import_migrated_instance(daemon, request, project_of(daemon, request));
    return daemon.instances().import_backup(project_of(daemon, request), std::move(request.body),
                                            request.header("x-lxd-name"), request.header("x-lxd-pool"));
}

void add_backup_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        const auto all = tree + "/{name}/backups";
        const auto one = all + "/{backup}";
        router.add("GET", all, [&daemon, tree](Request& r) -> Reply { return list_backups(daemon, r, tree); });
        router.add("POST", all, [&daemon](Request& r) -> Reply { return create_backup(daemon, r); });
        router.add("GET", one, [&daemon](Request& r) -> Reply {
            return api::sync_response(Instances::backup_json(
                daemon.instances().get_backup(project_of(daemon, r), r.param("name"), r.param("backup"))));
        });
        router.add("POST", one, [&daemon](Request& r) -> Reply { return post_backup(daemon, r); });
        router.add("DELETE", one, [&daemon](Request& r) -> Reply {
            return daemon.instances().remove_backup(project_of(daemon, r), r.param("name"), r.param("backup"));
        });
        router.add("GET", one + "/export", [&daemon](Request& r) -> Reply { return export_backup(daemon, r); });
    }
}

} // namespace lodge::daemon
