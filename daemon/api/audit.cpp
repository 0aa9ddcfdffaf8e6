// GET /1.0/instances/{name}/audit (lodge's API extension lodge_audit): the
// instance's drift from its baselines and from its config, as
// daemon/profiles/audit.hpp describes.
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/instances/audit.hpp"

namespace lodge::daemon {

void add_audit_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"})
        router.add("GET", tree + "/{name}/audit", [&daemon](Request& r) -> Reply {
            const auto project_id = daemon.with_db([&](db::Database& db) { return request_project_id(db, r); });
            return api::sync_response(nlohmann::json(audit_instance(daemon, project_id, r.param("name"))));
        });
}

} // namespace lodge::daemon
