// LXD's response envelope: every answer of the /1.0 API, sync, async or
// error, has the same seven fields (shared/api/response.go in LXD).
#pragma once

#include "api/status.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::api {

struct Response {
    std::string type;        // "sync", "async" or "error"
    std::string status;      // status_name(status_code), "" for errors
    int status_code = 0;     // 200 sync, 100 async, 0 error
    std::string operation;   // "/1.0/operations/<id>" for async, else ""
    int error_code = 0;      // the HTTP status of an error, else 0
    std::string error;       // what went wrong, else ""
    nlohmann::json metadata; // the object; null for errors
};

inline Response sync_response(nlohmann::json metadata) {
    return {"sync", std::string(status_name(StatusCode::Success)), static_cast<int>(StatusCode::Success),
            "", 0, "", std::move(metadata)};
}

// metadata is the operation object; operation_url its /1.0/operations/<id>.
inline Response async_response(std::string operation_url, nlohmann::json metadata) {
    return {"async", std::string(status_name(StatusCode::OperationCreated)),
            static_cast<int>(StatusCode::OperationCreated), std::move(operation_url), 0, "", std::move(metadata)};
}

inline Response error_response(int http_status, std::string message) {
    return {"error", "", 0, "", http_status, std::move(message), nullptr};
}

inline void to_json(nlohmann::json& j, const Response& r) {
    j = nlohmann::json{{"type", r.type},           {"status", r.status}, {"status_code", r.status_code},
                       {"operation", r.operation}, {"error_code", r.error_code},
                       {"error", r.error},         {"metadata", r.metadata}};
}

inline void from_json(const nlohmann::json& j, Response& r) {
    j.at("type").get_to(r.type);
    r.status = j.value("status", "");
    r.status_code = j.value("status_code", 0);
    r.operation = j.value("operation", "");
    r.error_code = j.value("error_code", 0);
    r.error = j.value("error", "");
    r.metadata = j.contains("metadata") ? j.at("metadata") : nlohmann::json(nullptr);
}

} // namespace lodge::api
