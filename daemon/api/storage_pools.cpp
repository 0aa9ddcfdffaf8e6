// /1.0/storage-pools: list, create, get, update, delete and /resources. The
// pools' volumes are in storage_volumes.cpp; the work is daemon/storage/.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/storage_pools.hpp"
#include "daemon/db/storage_volumes.hpp"

#include "api/storage_volume.hpp"

#include <sys/statvfs.h>

namespace lodge::daemon {

namespace {

api::StoragePool load_pool(Daemon& daemon, const std::string& name) {
    auto pool = daemon.with_db([&](db::Database& db) { return db::get_storage_pool(db, name); });
    if (!pool) throw Error(404, "Storage pool not found");
    return *pool;
}

api::Response list_pools(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        return api::sync_response(collection(depth, "/1.0/storage-pools/", db::storage_pool_names(db),
                                             [&](const std::string& name) { return *db::get_storage_pool(db, name); }));
    });
}

api::Response create_pool(Daemon& daemon, const Request& request) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    api::StoragePool pool;
    pool.name = body.value("name", "");
    pool.driver = body.value("driver", "");
    pool.description = body.value("description", "");
    if (body.contains("config") && body["config"].is_object())
        for (const auto& [k, v] : body["config"].items()) {
            if (!v.is_string()) throw Error(400, "Invalid config: value of \"" + k + "\" must be a string");
            pool.config[k] = v.get<std::string>();
        }
    if (pool.driver.empty()) throw Error(400, "No storage pool driver given");
    daemon.pools().create_pool(std::move(pool));
    daemon.events().lifecycle("storage-pool-created", "/1.0/storage-pools/" + body.value("name", ""));
    return api::sync_response(nullptr);
}

// Description and config; a driver key can only be set to what it is (the
// pool's storage is made once), as LXD refuses changing "source".
api::Response update_pool(Daemon& daemon, const Request& request, bool merge) {
    const auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    auto pool = load_pool(daemon, request.param("name"));
    auto config = merge ? pool.config : api::ConfigMap{};
    if (body.contains("config") && body["config"].is_object())
        for (const auto& [k, v] : body["config"].items()) config[k] = v.is_string() ? v.get<std::string>() : v.dump();
    for (const auto& [k, v] : config) {
        if (k == "volume.size") continue;
        auto it = pool.config.find(k);
        if (it == pool.config.end() || it->second != v)
            throw Error(400, "Storage pool config key \"" + k + "\" cannot be changed after creation");
    }
    for (const auto& [k, v] : pool.config)
        if (!config.count(k) && k != "volume.size") config[k] = v; // PUT without them keeps them
    const auto description = body.contains("description") ? body.value("description", "") : pool.description;
    daemon.with_db([&](db::Database& db) {
        const auto id = *db::storage_pool_id(db, pool.name);
        db.transaction([&] {
            db.prepare("UPDATE storage_pools SET description = ? WHERE id = ?").bind_all(description, id).run();
            db::store_key_values(db, "storage_pools_config", "storage_pool_id", id, config);
        });
    });
    daemon.events().lifecycle("storage-pool-updated", "/1.0/storage-pools/" + pool.name);
    return api::sync_response(nullptr);
}

api::Response pool_resources(Daemon& daemon, const Request& request) {
    load_pool(daemon, request.param("name"));
    auto& driver = daemon.pools().driver(request.param("name"));
    const auto usage = driver.usage();
    api::PoolResources r;
    r.space_used = usage.used;
    r.space_total = usage.total;
    struct statvfs st {};
    if (::statvfs(driver.mount_point().c_str(), &st) == 0) {
        r.inodes_total = st.f_files;
        r.inodes_used = st.f_files - st.f_ffree;
    }
    return api::sync_response(r);
}

} // namespace

void add_storage_pool_routes(Router& router, Daemon& daemon) {
    const std::string one = "/1.0/storage-pools/{name}";
    router.add("GET", "/1.0/storage-pools", [&daemon](Request& r) -> Reply { return list_pools(daemon, r); });
    router.add("POST", "/1.0/storage-pools", [&daemon](Request& r) -> Reply { return create_pool(daemon, r); });
    router.add("GET", one, [&daemon](Request& r) -> Reply {
        return api::sync_response(load_pool(daemon, r.param("name")));
    });
    router.add("PUT", one, [&daemon](Request& r) -> Reply { return update_pool(daemon, r, false); });
    router.add("PATCH", one, [&daemon](Request& r) -> Reply { return update_pool(daemon, r, true); });
    router.add("DELETE", one, [&daemon](Request& r) -> Reply {
        daemon.pools().delete_pool(r.param("name"));
        daemon.events().lifecycle("storage-pool-deleted", "/1.0/storage-pools/" + r.param("name"));
        return api::sync_response(nullptr);
    });
    router.add("GET", one + "/resources", [&daemon](Request& r) -> Reply { return pool_resources(daemon, r); });
}

} // namespace lodge::daemon
