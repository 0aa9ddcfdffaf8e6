// The events hub behind /1.0/events: publishers (operations, lifecycle
// changes) hand it events; each listener gets the types it asked for.
#pragma once

#include "api/event.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace lodge::daemon {

class EventHub {
public:
    // Receives one serialized event; returns false once the listener is
    // gone (the hub then drops it). Called from the publisher's thread: it
    // must only queue, never block, and never publish.
    using Sink = std::function<bool(const std::string& json_text)>;

    // The event types LXD defines; a filter naming others is refused.
    static const std::set<std::string>& known_types();

    // types empty: all. Returns an id for unsubscribe().
    std::uint64_t subscribe(std::set<std::string> types, Sink sink);
    void unsubscribe(std::uint64_t id);
    std::size_t listeners();

    void publish(const api::Event& event);
    // A lifecycle event now, in the default project.
    void lifecycle(const std::string& action, const std::string& source, nlohmann::json context = nullptr);

private:
    struct Listener {
        std::set<std::string> types;
        Sink sink;
    };
    std::mutex mutex_;
    std::map<std::uint64_t, Listener> listeners_;
    std::uint64_t next_id_ = 1;
};

} // namespace lodge::daemon
