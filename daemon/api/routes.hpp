// The /1.0 routes, one file per API resource (as LXD keeps one file per
// resource), each adding its handlers to the router.
#pragma once

#include "daemon/http/router.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::daemon {

class Daemon;

namespace db {
class Database;
}

void add_server_routes(Router& router, Daemon& daemon);       // /, /1.0
void add_profile_routes(Router& router, Daemon& daemon);      // /1.0/profiles
void add_storage_pool_routes(Router& router, Daemon& daemon); // /1.0/storage-pools
void add_storage_volume_routes(Router& router, Daemon& daemon); // /1.0/storage-pools/{pool}/volumes
void add_project_routes(Router& router, Daemon& daemon);      // /1.0/projects
void add_instance_routes(Router& router, Daemon& daemon);     // /1.0/instances, /1.0/containers
void add_snapshot_routes(Router& router, Daemon& daemon);     // /1.0/instances/{name}/snapshots
void add_exec_routes(Router& router, Daemon& daemon);         // /1.0/instances/{name}/exec, /logs/{file}
void add_file_routes(Router& router, Daemon& daemon);         // /1.0/instances/{name}/files
void add_console_routes(Router& router, Daemon& daemon);      // /1.0/instances/{name}/console
void add_operation_routes(Router& router, Daemon& daemon);    // /1.0/operations
void add_event_routes(Router& router, Daemon& daemon);        // /1.0/events
void add_metrics_routes(Router& router, Daemon& daemon);      // /1.0/metrics
void add_resources_routes(Router& router, Daemon& daemon);    // /1.0/resources
void add_certificate_routes(Router& router, Daemon& daemon);  // /1.0/certificates
void add_image_routes(Router& router, Daemon& daemon);        // /1.0/images, /1.0/images/aliases
void add_backup_routes(Router& router, Daemon& daemon);       // /1.0/instances/{name}/backups
void add_internal_routes(Router& router, Daemon& daemon);     // /internal/shutdown (unix socket only)
void add_audit_routes(Router& router, Daemon& daemon);        // /1.0/instances/{name}/audit
void add_network_routes(Router& router, Daemon& daemon);      // /1.0/networks
// POST /1.0/instances with a backup tarball (Content-Type application/octet-stream).
bool is_backup_upload(const Request& request);
api::Response import_instance_backup(Daemon& daemon, Request& request);

inline void add_all_routes(Router& router, Daemon& daemon) {
    add_server_routes(router, daemon);
    add_profile_routes(router, daemon);
    add_storage_pool_routes(router, daemon);
    add_storage_volume_routes(router, daemon);
    add_project_routes(router, daemon);
    add_instance_routes(router, daemon);
    add_snapshot_routes(router, daemon);
    add_exec_routes(router, daemon);
    add_file_routes(router, daemon);
    add_console_routes(router, daemon);
    add_operation_routes(router, daemon);
    add_event_routes(router, daemon);
    add_metrics_routes(router, daemon);
    add_resources_routes(router, daemon);
    add_certificate_routes(router, daemon);
    add_image_routes(router, daemon);
    add_backup_routes(router, daemon);
    add_internal_routes(router, daemon);
    add_audit_routes(router, daemon);
    add_network_routes(router, daemon);
}

// The id of the project a request names with ?project= (default:
// "default"); Error(404) when there is no such project.
std::int64_t request_project_id(db::Database& db, const Request& request);

// A collection as LXD answers it: each member's URL (prefix + name) at
// recursion 0, the member's object from get(name) above that.
template <typename Get>
nlohmann::json collection(int depth, const std::string& prefix, const std::vector<std::string>& names, Get&& get) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& name : names) {
        if (depth == 0)
            out.push_back(prefix + name);
        else
            out.push_back(get(name));
    }
    return out;
}

} // namespace lodge::daemon
