// GET /1.0/events: the WebSocket of operation, lifecycle and logging
// events, filtered by ?type=a,b (default: all).
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/events.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

namespace {

std::set<std::string> requested_types(const Request& request) {
    std::set<std::string> types;
    auto list = request.query_value("type");
    size_t start = 0;
    while (start <= list.size()) {
        auto comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        auto t = list.substr(start, comma - start);
        if (!t.empty()) {
            if (!EventHub::known_types().count(t)) throw Error(400, "\"" + t + "\" isn't a supported event type");
            types.insert(t);
        }
        start = comma + 1;
    }
    return types;
}

Reply events(Daemon& daemon, const Request& request) {
    auto types = requested_types(request);
    return WebSocketUpgrade{[&daemon, types](std::shared_ptr<WebSocket> ws) {
        // The hub holds the connection weakly: a closed socket is dropped at
        // the next event, or at once by the close callback.
        std::weak_ptr<WebSocket> weak = ws;
        auto& hub = daemon.events();
        const auto id = hub.subscribe(types, [weak](const std::string& text) {
            auto socket = weak.lock();
            return socket && socket->send_text(text);
        });
        ws->on_close([&hub, id] {
            hub.unsubscribe(id);
            spdlog::debug("events: listener {} gone", id);
        });
        spdlog::debug("events: listener {} subscribed", id);
    }};
}

} // namespace

void add_event_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/events", [&daemon](Request& r) -> Reply { return events(daemon, r); });
}

} // namespace lodge::daemon
