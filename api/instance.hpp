// Instances (shared/api/instance.go, instance_state.go): the object, the
// full object of recursion 2, and the runtime state.
#pragma once

#include "api/profile.hpp"
#include "api/status.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace lodge::api {

struct Instance {
    std::string name;
    std::string description;
    std::string architecture = "x86_64";
    std::string type = "container";
    std::string project = "default";
    bool ephemeral = false;
    bool stateful = false;
    std::string created_at;
    std::string last_used_at = "1970-01-01T00:00:00Z";
    ConfigMap config;
    DeviceMap devices;
    std::vector<std::string> profiles;
    ConfigMap expanded_config;   // profiles' config under the instance's own
    DeviceMap expanded_devices;
    StatusCode status = StatusCode::Stopped;
};

inline void to_json(nlohmann::json& j, const Instance& i) {
    j = nlohmann::json{{"architecture", i.architecture},
                       {"config", i.config},
                       {"devices", i.devices},
                       {"ephemeral", i.ephemeral},
                       {"profiles", i.profiles},
                       {"stateful", i.stateful},
                       {"description", i.description},
                       {"created_at", i.created_at},
                       {"expanded_config", i.expanded_config},
                       {"expanded_devices", i.expanded_devices},
                       {"name", i.name},
                       {"status", std::string(status_name(i.status))},
                       {"status_code", static_cast<int>(i.status)},
                       {"last_used_at", i.last_used_at},
                       {"location", "none"},
                       {"type", i.type},
                       {"project", i.project}};
}

} // namespace lodge::api
