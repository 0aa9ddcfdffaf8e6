// Storage pools (shared/api/storage_pool.go).
#pragma once

#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::api {

struct StoragePool {
    std::string name;
    std::string driver; // "dir", "btrfs"
    std::string description;
    ConfigMap config;                // "source" and driver keys
    std::vector<std::string> used_by; // instances, snapshots, profiles; [] when none
    std::string status = "Created";   // "Created", "Pending", "Errored", "Unknown"
    std::vector<std::string> locations{"none"}; // cluster members; "none" standalone
};

inline void to_json(nlohmann::json& j, const StoragePool& p) {
    j = nlohmann::json{{"config", p.config}, {"description", p.description}, {"name", p.name},
                       {"driver", p.driver}, {"used_by", p.used_by},         {"status", p.status},
                       {"locations", p.locations}};
}

inline void from_json(const nlohmann::json& j, StoragePool& p) {
    p.name = j.value("name", "");
    p.driver = j.value("driver", "");
    p.description = j.value("description", "");
    p.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
    p.used_by = j.value("used_by", std::vector<std::string>{});
    p.status = j.value("status", "Created");
    p.locations = j.value("locations", std::vector<std::string>{"none"});
}

} // namespace lodge::api
