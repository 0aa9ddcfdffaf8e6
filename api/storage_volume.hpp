// Storage volumes and pool resources (shared/api/storage_pool_volume.go,
// storage_pool.go ResourcesStoragePool) as LXD 5.0.2 sends them.
#pragma once

#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::api {

struct StorageVolume {
    std::string name; // "c1", or "c1/snap0" for a snapshot in volume lists
    std::string description;
    std::string type = "custom"; // "container", "image", "custom"
    std::string content_type = "filesystem";
    std::string project = "default";
    std::string created_at = "0001-01-01T00:00:00Z";
    ConfigMap config;
    std::vector<std::string> used_by;
};

inline void to_json(nlohmann::json& j, const StorageVolume& v) {
    j = nlohmann::json{{"config", v.config},   {"description", v.description},   {"name", v.name},
                       {"type", v.type},       {"used_by", v.used_by},           {"location", "none"},
                       {"content_type", v.content_type}, {"project", v.project}, {"created_at", v.created_at}};
}

// A custom volume's snapshot (StorageVolumeSnapshot).
struct StorageVolumeSnapshot {
    std::string name; // the snapshot's own name
    std::string description;
    std::string content_type = "filesystem";
    std::string created_at;
    std::string expires_at = "0001-01-01T00:00:00Z";
    ConfigMap config;
};

inline void to_json(nlohmann::json& j, const StorageVolumeSnapshot& s) {
    j = nlohmann::json{{"config", s.config},         {"description", s.description}, {"expires_at", s.expires_at},
                       {"name", s.name},             {"content_type", s.content_type},
                       {"created_at", s.created_at}};
}

struct PoolResources {
    std::uint64_t space_used = 0, space_total = 0;
    std::uint64_t inodes_used = 0, inodes_total = 0;
};

inline void to_json(nlohmann::json& j, const PoolResources& r) {
    j = nlohmann::json{{"space", {{"used", r.space_used}, {"total", r.space_total}}},
                       {"inodes", {{"used", r.inodes_used}, {"total", r.inodes_total}}}};
}

} // namespace lodge::api
