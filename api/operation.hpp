// The operation object behind every async answer (shared/api/operation.go):
// what clients poll, wait on and see in `operation` events.
#pragma once

#include "api/status.hpp"
#include "api/time.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lodge::api {

struct Operation {
    std::string id;
    std::string operation_class = "task"; // "task", "websocket" or "token"
    std::string description;
    Time created_at{};
    Time updated_at{};
    StatusCode status_code = StatusCode::Pending;
    // Affected objects by kind ("instances", "containers"); LXD sends null
    // when the operation names none.
    std::optional<std::map<std::string, std::vector<std::string>>> resources;
    nlohmann::json metadata; // null until the operation has something to say
    bool may_cancel = false;
    std::string err;
    std::string location = "none"; // cluster member; "none" when not clustered

    std::string url() const { return "/1.0/operations/" + id; }
};

inline void to_json(nlohmann::json& j, const Operation& op) {
    j = nlohmann::json{{"id", op.id},
                       {"class", op.operation_class},
                       {"description", op.description},
                       {"created_at", format_time(op.created_at)},
                       {"updated_at", format_time(op.updated_at)},
                       {"status", status_name(op.status_code)},
                       {"status_code", static_cast<int>(op.status_code)},
                       {"resources", op.resources ? nlohmann::json(*op.resources) : nlohmann::json(nullptr)},
                       {"metadata", op.metadata},
                       {"may_cancel", op.may_cancel},
                       {"err", op.err},
                       {"location", op.location}};
}

inline void from_json(const nlohmann::json& j, Operation& op) {
    j.at("id").get_to(op.id);
    op.operation_class = j.value("class", "task");
    op.description = j.value("description", "");
    parse_time(j.value("created_at", ""), op.created_at);
    parse_time(j.value("updated_at", ""), op.updated_at);
    op.status_code = static_cast<StatusCode>(j.value("status_code", 0));
    if (j.contains("resources") && !j.at("resources").is_null())
        op.resources = j.at("resources").get<std::map<std::string, std::vector<std::string>>>();
    else
        op.resources.reset();
    op.metadata = j.contains("metadata") ? j.at("metadata") : nlohmann::json(nullptr);
    op.may_cancel = j.value("may_cancel", false);
    op.err = j.value("err", "");
    op.location = j.value("location", "none");
}

} // namespace lodge::api
