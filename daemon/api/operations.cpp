// /1.0/operations: list, get, cancel (DELETE) and wait. /wait answers
// through a deferred reply, so a client waiting for minutes holds no thread.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/operations.hpp"
#include "daemon/operations.hpp"

#include <cmath>
#include <cstdlib>

namespace lodge::daemon {

namespace {

// LXD groups operations by their lower-cased status: {"running": [...], "success": [...]}.
std::string status_key(api::StatusCode code) {
    std::string s(api::status_name(code));
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

api::Response list_operations(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    nlohmann::json out = nlohmann::json::object();
    auto ops = daemon.operations().list();
    // What a previous run of lodged was doing when it stopped, failed.
    for (auto& op : daemon.with_db([](db::Database& db) { return db::interrupted_operations(db); }))
        ops.push_back(std::move(op));
    for (const auto& op : ops) {
        auto& group = out[status_key(op.status_code)];
        if (depth == 0)
            group.push_back(op.url());
        else
            group.push_back(op);
    }
    return api::sync_response(std::move(out));
}

api::Response get_operation(Daemon& daemon, const Request& request) {
    auto op = daemon.operations().get(request.param("id"));
    if (!op) op = daemon.with_db([&](db::Database& db) { return db::recorded_operation(db, request.param("id")); });
    if (!op) throw Error(404, "Operation not found");
    return api::sync_response(*op);
}

api::Response cancel_operation(Daemon& daemon, const Request& request) {
    daemon.operations().cancel(request.param("id"));
    return api::sync_response(nlohmann::json::object());
}

// ?timeout=SECONDS (fractions allowed); absent or -1: until the end.
std::optional<std::chrono::milliseconds> wait_timeout(const Request& request) {
    auto v = request.query_value("timeout", "-1");
    char* end = nullptr;
    double seconds = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || std::isnan(seconds))
        throw Error(400, "Invalid timeout \"" + v + "\": give seconds, or -1 to wait for the end");
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

Reply wait_operation(Daemon& daemon, const Request& request) {
    auto id = request.param("id");
    auto timeout = wait_timeout(request);
    if (!daemon.operations().get(id)) {
        // Ended in an earlier run: its recorded state is final.
        auto recorded = daemon.with_db([&](db::Database& db) { return db::recorded_operation(db, id); });
        if (!recorded) throw Error(404, "Operation not found");
        return api::sync_response(*recorded);
    }
    return Deferred{[&daemon, id, timeout](std::function<void(api::Response)> respond) {
        bool known = daemon.operations().wait_async(
            id, timeout, [respond](const api::Operation& op) { respond(api::sync_response(op)); });
        // Pruned between the check above and now: answer as for any unknown id.
        if (!known) respond(api::error_response(404, "Operation not found"));
    }};
}

// The websockets of an exec or console operation: the secret names the fd.
Reply operation_websocket(Daemon& daemon, const Request& request) {
    auto secret = request.query_value("secret");
    if (secret.empty()) throw Error(403, "A websocket secret is required (?secret=)");
    return daemon.operation_sockets().connect(request.param("id"), secret);
}

} // namespace

void add_operation_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/operations", [&daemon](Request& r) -> Reply { return list_operations(daemon, r); });
    router.add("GET", "/1.0/operations/{id}", [&daemon](Request& r) -> Reply { return get_operation(daemon, r); });
    router.add("DELETE", "/1.0/operations/{id}",
               [&daemon](Request& r) -> Reply { return cancel_operation(daemon, r); });
    router.add("GET", "/1.0/operations/{id}/websocket",
               [&daemon](Request& r) -> Reply { return operation_websocket(daemon, r); });
    router.add("GET", "/1.0/operations/{id}/wait", [&daemon](Request& r) -> Reply { return wait_operation(daemon, r); });
}

} // namespace lodge::daemon
