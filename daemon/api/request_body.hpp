// Fields of a JSON request body as LXD's handlers read them, each refusing
// the wrong type with a 400 that names the field; and the 201 Created LXD
// answers creations and renames with.
#pragma once

#include "api/profile.hpp"
#include "common/error.hpp"
#include "daemon/http/message.hpp"
#include "daemon/http/router.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace lodge::daemon {

inline nlohmann::json object_body(const Request& request) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be a JSON object");
    return body;
}

// A string field; absent or null is "".
inline std::string text_field(const nlohmann::json& body, const char* key) {
    if (!body.contains(key) || body[key].is_null()) return "";
    if (!body[key].is_string()) throw Error(400, std::string("\"") + key + "\" must be a string");
    return body[key].get<std::string>();
}

// config of a request: absent or null is nullopt; anything but an object of
// strings is refused.
inline std::optional<api::ConfigMap> config_field(const nlohmann::json& body) {
    if (!body.contains("config") || body["config"].is_null()) return std::nullopt;
    try {
        return body["config"].get<api::ConfigMap>();
    } catch (const nlohmann::json::exception&) {
        throw Error(400, "\"config\" must be an object of string values");
    }
}

inline HttpResponse created(const std::string& location) {
    auto reply = to_http(api::sync_response(nullptr));
    reply.status = 201;
    reply.headers.emplace_back("Location", location);
    return reply;
}

} // namespace lodge::daemon
