// GET /1.0/instances (and the older /1.0/containers tree pylxd and Ansible
// use). Listing only for now: instance objects arrive with instance creation.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"

namespace lodge::daemon {

namespace {

api::Response list_instances(Daemon& daemon, const Request& request, const std::string& tree) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& name : db::instance_names(db, request_project_id(db, request))) {
            if (depth > 0)
                throw Error(501, "Instance objects are not implemented yet (instance " + name + ")");
            out.push_back(tree + "/" + name);
        }
        return api::sync_response(std::move(out));
    });
}

} // namespace

void add_instance_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"})
        router.add("GET", tree, [&daemon, tree](Request& r) -> Reply { return list_instances(daemon, r, tree); });
}

} // namespace lodge::daemon
