// Instances (shared/api/instance.go, instance_state.go): the object, the
// full object of recursion 2, and the runtime state.
#pragma once

#include "api/profile.hpp"
#include "api/status.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
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

// An instance snapshot (shared/api/instance_snapshot.go InstanceSnapshot):
// the instance's config, devices and profiles as they were when it was
// taken. name is the snapshot's own name, without the instance's.
struct InstanceSnapshot {
    std::string name;
    std::string description;
    std::string architecture = "x86_64";
    bool ephemeral = false;
    bool stateful = false;
    std::string created_at;
    std::string expires_at = "0001-01-01T00:00:00Z";
    std::string last_used_at = "0001-01-01T00:00:00Z";
    ConfigMap config;
    DeviceMap devices;
    std::vector<std::string> profiles;
    ConfigMap expanded_config;
    DeviceMap expanded_devices;
    std::int64_t size = -1; // bytes; -1 when the driver cannot tell
};

inline void to_json(nlohmann::json& j, const InstanceSnapshot& s) {
    j = nlohmann::json{{"expires_at", s.expires_at},
                       {"architecture", s.architecture},
                       {"config", s.config},
                       {"created_at", s.created_at},
                       {"devices", s.devices},
                       {"ephemeral", s.ephemeral},
                       {"expanded_config", s.expanded_config},
                       {"expanded_devices", s.expanded_devices},
                       {"last_used_at", s.last_used_at},
                       {"name", s.name},
                       {"profiles", s.profiles},
                       {"stateful", s.stateful},
                       {"size", s.size}};
}

} // namespace lodge::api
