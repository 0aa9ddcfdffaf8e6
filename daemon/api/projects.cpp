// GET /1.0/projects and /1.0/projects/{name}; the ?project= parameter that
// every project-scoped endpoint accepts.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/projects.hpp"

namespace lodge::daemon {

namespace {

api::Response list_projects(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        return api::sync_response(collection(depth, "/1.0/projects/", db::project_names(db),
                                             [&](const std::string& name) { return *db::get_project(db, name); }));
    });
}

api::Response get_project(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    return daemon.with_db([&](db::Database& db) {
        auto project = db::get_project(db, name);
        if (!project) throw Error(404, "Project not found");
        return api::sync_response(*project);
    });
}

} // namespace

std::int64_t request_project_id(db::Database& db, const Request& request) {
    auto name = request.query_value("project", "default");
    if (name.empty()) name = "default";
    auto id = db::project_id(db, name);
    if (!id) throw Error(404, "Project \"" + name + "\" not found");
    return *id;
}

void add_project_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/projects", [&daemon](Request& r) -> Reply { return list_projects(daemon, r); });
    router.add("GET", "/1.0/projects/{name}", [&daemon](Request& r) -> Reply { return get_project(daemon, r); });
}

} // namespace lodge::daemon
