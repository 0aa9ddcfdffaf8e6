// GET /1.0/storage-pools and /1.0/storage-pools/{name}. Pool creation and
// volumes come with the storage drivers.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/storage_pools.hpp"

namespace lodge::daemon {

namespace {

api::Response list_pools(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        return api::sync_response(collection(depth, "/1.0/storage-pools/", db::storage_pool_names(db),
                                             [&](const std::string& name) { return *db::get_storage_pool(db, name); }));
    });
}

api::Response get_pool(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    return daemon.with_db([&](db::Database& db) {
        auto pool = db::get_storage_pool(db, name);
        if (!pool) throw Error(404, "Storage pool not found");
        return api::sync_response(*pool);
    });
}

} // namespace

void add_storage_pool_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/storage-pools", [&daemon](Request& r) -> Reply { return list_pools(daemon, r); });
    router.add("GET", "/1.0/storage-pools/{name}", [&daemon](Request& r) -> Reply { return get_pool(daemon, r); });
}

} // namespace lodge::daemon
