// Profiles (shared/api/profile.go): config and devices applied to the
// instances that name them.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace lodge::api {

using ConfigMap = std::map<std::string, std::string>;
// Device name -> its keys, "type" included ({"root": {"type": "disk", ...}}).
using DeviceMap = std::map<std::string, std::map<std::string, std::string>>;

struct Profile {
    std::string name;
    std::string description;
    ConfigMap config;
    DeviceMap devices;
    std::vector<std::string> used_by; // URLs of the instances using it; [] when none
};

inline void to_json(nlohmann::json& j, const Profile& p) {
    // nlohmann turns an empty std::map into {}, as LXD sends empty config and
    // devices maps (never null).
    j = nlohmann::json{{"config", p.config},
                       {"description", p.description},
                       {"devices", p.devices},
                       {"name", p.name},
                       {"used_by", p.used_by}};
}

inline void from_json(const nlohmann::json& j, Profile& p) {
    p.name = j.value("name", "");
    p.description = j.value("description", "");
    p.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
    p.devices = j.contains("devices") && !j["devices"].is_null() ? j["devices"].get<DeviceMap>() : DeviceMap{};
    p.used_by = j.contains("used_by") && !j["used_by"].is_null() ? j["used_by"].get<std::vector<std::string>>()
                                                                 : std::vector<std::string>{};
}

} // namespace lodge::api
