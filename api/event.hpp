// Messages on the /1.0/events WebSocket (shared/api/event.go): operation
// updates, lifecycle actions ("instance-started"), log records.
#pragma once

#include "api/time.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace lodge::api {

struct Event {
    std::string type; // "operation", "lifecycle", "logging"
    Time timestamp{};
    nlohmann::json metadata; // the operation object, {action, source, ...}, or {level, message, context}
    std::optional<std::string> project; // LXD leaves it out of logging events
    std::string location = "none";
};

inline void to_json(nlohmann::json& j, const Event& e) {
    j = nlohmann::json{{"type", e.type},
                       {"timestamp", format_time(e.timestamp)},
                       {"metadata", e.metadata},
                       {"location", e.location}};
    if (e.project) j["project"] = *e.project;
}

inline void from_json(const nlohmann::json& j, Event& e) {
    e.type = j.value("type", "");
    parse_time(j.value("timestamp", ""), e.timestamp);
    e.metadata = j.contains("metadata") ? j.at("metadata") : nlohmann::json(nullptr);
    if (j.contains("project"))
        e.project = j.at("project").get<std::string>();
    else
        e.project.reset();
    e.location = j.value("location", "none");
}

// The metadata of a lifecycle event: what happened to which object.
inline nlohmann::json lifecycle_metadata(const std::string& action, const std::string& source,
                                         nlohmann::json context = nullptr) {
    nlohmann::json m{{"action", action}, {"source", source}};
    if (!context.is_null()) m["context"] = std::move(context);
    return m;
}

} // namespace lodge::api
