// LXD's status codes and their names, shared by the response envelope,
// operations and instance states (shared/api/status_code.go in LXD).
#pragma once

#include <string_view>

namespace lodge::api {

enum class StatusCode : int {
    OperationCreated = 100,
    Started = 101,
    Stopped = 102,
    Running = 103,
    Cancelling = 104,
    Pending = 105,
    Starting = 106,
    Stopping = 107,
    Aborting = 108,
    Freezing = 109,
    Frozen = 110,
    Thawed = 111,
    Error = 112,
    Ready = 113,
    Success = 200,
    Failure = 400,
    Cancelled = 401,
};

// The exact strings clients compare against ("Running", "Success", ...).
constexpr std::string_view status_name(StatusCode code) {
    switch (code) {
    case StatusCode::OperationCreated: return "Operation created";
    case StatusCode::Started: return "Started";
    case StatusCode::Stopped: return "Stopped";
    case StatusCode::Running: return "Running";
    case StatusCode::Cancelling: return "Cancelling";
    case StatusCode::Pending: return "Pending";
    case StatusCode::Starting: return "Starting";
    case StatusCode::Stopping: return "Stopping";
    case StatusCode::Aborting: return "Aborting";
    case StatusCode::Freezing: return "Freezing";
    case StatusCode::Frozen: return "Frozen";
    case StatusCode::Thawed: return "Thawed";
    case StatusCode::Error: return "Error";
    case StatusCode::Ready: return "Ready";
    case StatusCode::Success: return "Success";
    case StatusCode::Failure: return "Failure";
    case StatusCode::Cancelled: return "Cancelled";
    }
    return "";
}

// Whether an operation in this state has ended (success, failure or cancel).
constexpr bool is_final(StatusCode code) {
    return code == StatusCode::Success || code == StatusCode::Failure || code == StatusCode::Cancelled;
}

} // namespace lodge::api
