// /1.0/instances/{name}/console (and /1.0/containers/...): POST attaches to
// the console over websockets (console_session.hpp); GET returns the
// console log, from the monitor while the instance runs and from the file
// it left at the last stop otherwise.
#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/console_session.hpp"
#include "daemon/daemon.hpp"
#include "runtime/monitor_client.hpp"

namespace lodge::daemon {

namespace {

InstanceLocation locate(Daemon& daemon, const Request& request) {
    auto project = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    return daemon.instances().locate(project, request.param("name"));
}

api::Response post_console(Daemon& daemon, const Request& request) {
    auto loc = locate(daemon, request);
    auto body = nlohmann::json::parse(request.body.empty() ? "{}" : request.body);
    if (!body.is_object()) throw Error(400, "The console request must be a JSON object");
    auto type = body.value("type", std::string("console"));
    if (type != "console") throw Error(400, "Console type \"" + type + "\" is not supported: containers have \"console\"");
    try {
        daemon.instances().require_running(loc);
    } catch (const Error& e) {
        if (e.status() == 404) throw Error(400, "Instance is not running");
        throw;
    }
    std::map<std::string, std::string> fds{{"0", random_secret()}, {"control", random_secret()}};
    OperationSpec spec;
    spec.description = "Showing console";
    spec.operation_class = "websocket";
    spec.resources = std::map<std::string, std::vector<std::string>>{
        {"containers", {"/1.0/containers/" + loc.name}}, {"instances", {"/1.0/instances/" + loc.name}}};
    spec.metadata = nlohmann::json{{"fds", fds}};
    auto [op, handle] = daemon.operations().start_detached(std::move(spec));
    start_console_session(daemon.operation_sockets(), std::move(handle), std::move(fds), daemon.instances().run_dir(),
                          loc.runtime_name);
    return api::async_response(op.url(), op);
}

HttpResponse get_console_log(Daemon& daemon, const Request& request) {
    auto loc = locate(daemon, request);
    const auto& run_dir = daemon.instances().run_dir();
    HttpResponse r;
    r.content_type = "application/octet-stream";
    try {
        r.body = runtime::MonitorClient::connect(run_dir, loc.runtime_name).call_raw("console-log");
    } catch (const Error& e) {
        if (e.status() != 404) throw;
        r.body = read_file_if_exists(runtime::container_run_dir(run_dir, loc.runtime_name) + "/console.log");
    }
    return r;
}

} // namespace

void add_console_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        router.add("POST", tree + "/{name}/console", [&daemon](Request& r) -> Reply { return post_console(daemon, r); });
        router.add("GET", tree + "/{name}/console",
                   [&daemon](Request& r) -> Reply { return get_console_log(daemon, r); });
    }
}

} // namespace lodge::daemon
