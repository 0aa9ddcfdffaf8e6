// Projects (shared/api/project.go). lodged has one, `default`; the object is
// served because the `lxc` client asks for it.
#pragma once

#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::api {

struct Project {
    std::string name;
    std::string description;
    ConfigMap config; // features.* flags
    std::vector<std::string> used_by;
};

inline void to_json(nlohmann::json& j, const Project& p) {
    j = nlohmann::json{
        {"config", p.config}, {"description", p.description}, {"name", p.name}, {"used_by", p.used_by}};
}

inline void from_json(const nlohmann::json& j, Project& p) {
    p.name = j.value("name", "");
    p.description = j.value("description", "");
    p.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
    p.used_by = j.value("used_by", std::vector<std::string>{});
}

} // namespace lodge::api
