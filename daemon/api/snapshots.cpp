// /1.0/instances/{name}/snapshots (and the /1.0/containers tree): list,
// create, get, update, rename, delete. Restore is a PUT of the instance
// with "restore" (daemon/api/instances.cpp).
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"

namespace lodge::daemon {

namespace {

std::int64_t project_of(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
}

api::Response list_snapshots(Daemon& daemon, const Request& request, const std::string& tree) {
    const auto& name = request.param("name");
    const auto all = daemon.instances().snapshots(project_of(daemon, request), name);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : all) {
        if (recursion(request) == 0)
            out.push_back(tree + "/" + name + "/snapshots/" + s.name);
        else
            out.push_back(s);
    }
    return api::sync_response(std::move(out));
}

api::Response create_snapshot(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    if (body.value("stateful", false)) throw Error(400, "Stateful snapshots are not supported");
    SnapshotCreate create;
    if (body.contains("name") && body["name"].is_string()) create.name = body["name"].get<std::string>();
    if (body.contains("expires_at") && body["expires_at"].is_string())
        create.expires_at = body["expires_at"].get<std::string>();
    return daemon.instances().snapshot(project_of(daemon, request), request.param("name"), std::move(create));
}

api::Response post_snapshot(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    if (body.value("migration", false)) throw Error(400, "Migration is not supported");
    const auto new_name = body.value("name", "");
    if (new_name.empty()) throw Error(400, "A new name is required");
    return daemon.instances().rename_snapshot(project_of(daemon, request), request.param("name"),
                                              request.param("snapshot"), new_name);
}

} // namespace

void add_snapshot_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        const auto all = tree + "/{name}/snapshots";
        const auto one = all + "/{snapshot}";
        router.add("GET", all, [&daemon, tree](Request& r) -> Reply { return list_snapshots(daemon, r, tree); });
        router.add("POST", all, [&daemon](Request& r) -> Reply { return create_snapshot(daemon, r); });
        router.add("GET", one, [&daemon](Request& r) -> Reply {
            return api::sync_response(
                daemon.instances().get_snapshot(project_of(daemon, r), r.param("name"), r.param("snapshot")));
        });
        for (const char* method : {"PUT", "PATCH"})
            router.add(method, one, [&daemon](Request& r) -> Reply {
                return daemon.instances().update_snapshot(project_of(daemon, r), r.param("name"),
                                                          r.param("snapshot"), json_body(r));
            });
        router.add("POST", one, [&daemon](Request& r) -> Reply { return post_snapshot(daemon, r); });
        router.add("DELETE", one, [&daemon](Request& r) -> Reply {
            return daemon.instances().remove_snapshot(project_of(daemon, r), r.param("name"), r.param("snapshot"));
        });
    }
}

} // namespace lodge::daemon
