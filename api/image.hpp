// Images and their aliases (shared/api/image.go) as LXD 5.0.2 sends them:
// GET /1.0/images/{fingerprint} and /1.0/images/aliases/{name}.
#pragma once

#include "api/time.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lodge::api {

// An alias as the image object lists it (name and description only).
struct ImageAliasEntry {
    std::string name;
    std::string description;
};

inline void to_json(nlohmann::json& j, const ImageAliasEntry& a) {
    j = nlohmann::json{{"name", a.name}, {"description", a.description}};
}

struct Image {
    std::string fingerprint;
    std::string filename;
    std::int64_t size = 0;
    bool is_public = false;
    bool auto_update = false;
    bool cached = false;
    std::string architecture;
    std::string type = "container";
    std::map<std::string, std::string> properties;
    std::vector<ImageAliasEntry> aliases;
    std::vector<std::string> profiles{"default"};
    Time created_at{};
    Time expires_at{}; // the epoch ("1970-01-01T00:00:00Z") means never
    Time uploaded_at{};
    Time last_used_at{}; // Time{} is Go's zero time: never used
};

inline void to_json(nlohmann::json& j, const Image& i) {
    // expires_at "never" is the Unix epoch in LXD, not Go's zero time.
    const std::string expires =
        i.expires_at == Time{} ? std::string("1970-01-01T00:00:00Z") : format_time(i.expires_at);
    j = nlohmann::json{{"auto_update", i.auto_update},
                       {"properties", i.properties},
                       {"public", i.is_public},
                       {"expires_at", expires},
                       {"profiles", i.profiles},
                       {"aliases", i.aliases},
                       {"architecture", i.architecture},
                       {"cached", i.cached},
                       {"filename", i.filename},
                       {"fingerprint", i.fingerprint},
                       {"size", i.size},
                       {"type", i.type},
                       {"created_at", format_time(i.created_at)},
                       {"last_used_at", format_time(i.last_used_at)},
                       {"uploaded_at", format_time(i.uploaded_at)}};
}

// GET /1.0/images/aliases/{name}: the alias with the fingerprint it targets.
struct ImageAlias {
    std::string name;
    std::string description;
    std::string target;
    std::string type = "container";
};

inline void to_json(nlohmann::json& j, const ImageAlias& a) {
    j = nlohmann::json{{"description", a.description}, {"target", a.target}, {"name", a.name}, {"type", a.type}};
}

} // namespace lodge::api
