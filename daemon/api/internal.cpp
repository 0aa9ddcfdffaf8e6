// /internal: what only the host's own service manager asks, over the unix
// socket. PUT /internal/shutdown is LXD's `lxd shutdown`: the host is going
// down, so every running instance is stopped cleanly in boot.stop.priority
// order, then lodged exits.
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <unistd.h>

namespace lodge::daemon {

void add_internal_routes(Router& router, Daemon& daemon) {
    router.add("PUT", "/internal/shutdown", [&daemon](Request& r) -> Reply {
        // Requests over HTTPS carry the peer's address; the unix socket's none.
        if (!r.remote_address.empty()) throw Error(403, "Forbidden");
        spdlog::info("host shutdown: stopping the running instances");
        daemon.instances().shutdown_all();
        // The server's own SIGTERM handling ends lodged once this answer is out.
        ::kill(::getpid(), SIGTERM);
        return api::sync_response(nullptr);
    });
}

} // namespace lodge::daemon
