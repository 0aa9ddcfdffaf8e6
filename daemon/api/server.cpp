// GET / and the server object: GET, PUT and PATCH /1.0.
#include "api/server.hpp"

#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/extensions.hpp"
#include "daemon/https_address.hpp"
#include "daemon/server_config.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

namespace {

api::Response get_server(Daemon& daemon, const Request& request) {
    api::Server server;
    server.api_extensions = api_extensions();
    server.trusted = request.trusted;
    if (request.trusted) {
        server.config = daemon.with_db([](db::Database& db) { return db::load_server_config(db); });
        server.environment = daemon.environment();
        auto address = server.config.find("core.https_address");
        if (address != server.config.end()) server.environment.addresses = https_listen_addresses(address->second);
    }
    return api::sync_response(server);
}

// PUT replaces the whole config, PATCH merges; both validate every key
// before anything is stored.
api::Response update_server(Daemon& daemon, const Request& request, bool replace) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "Request body must be a JSON object with a \"config\" object");
    nlohmann::json requested = body.contains("config") ? body["config"] : nlohmann::json(nullptr);
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            auto current = db::load_server_config(db);
            auto updated = apply_server_config(current, requested, replace);
            // The listener moves first: an address it cannot bind fails the
            // request and rolls the change back.
            auto address = [](const ConfigMap& c) {
                auto it = c.find("core.https_address");
                return it == c.end() ? std::string() : it->second;
            };
            if (address(updated) != address(current)) daemon.listen_https(address(updated));
            db::store_server_config(db, updated);
        });
    });
    spdlog::info("server config {} by {}", replace ? "replaced" : "updated", request.method);
    daemon.events().lifecycle("config-updated", "/1.0");
    return api::sync_response(nlohmann::json::object());
}

} // namespace

void add_server_routes(Router& router, Daemon& daemon) {
    router.add(
        "GET", "/", [](Request&) -> Reply { return api::sync_response(nlohmann::json::array({"/1.0"})); },
        Access::Untrusted);
    router.add("GET", "/1.0", [&daemon](Request& r) -> Reply { return get_server(daemon, r); }, Access::Untrusted);
    router.add("PUT", "/1.0", [&daemon](Request& r) -> Reply { return update_server(daemon, r, true); });
    router.add("PATCH", "/1.0", [&daemon](Request& r) -> Reply { return update_server(daemon, r, false); });
}

} // namespace lodge::daemon
