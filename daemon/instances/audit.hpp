// lodge audit: for one instance, (a) every expanded setting weaker than a
// baseline profile it carries, and (b) for a running instance, its kernel
// state read from the host side (id maps, capabilities, seccomp, cgroup
// limits, devices, namespaces) against what its config says it must be.
// Answered by GET /1.0/instances/{name}/audit (API extension lodge_audit).
#pragma once

#include "profiles/baseline.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::daemon {

class Daemon;

struct AuditReport {
    std::string instance;
    std::string status;                 // Running, Stopped, Frozen
    std::vector<std::string> baselines; // the baseline profiles it carries
    // Config changed since the start and waiting for a restart (not drift:
    // the kernel is compared with what the instance was started with, where
    // the difference is only that).
    bool restart_pending = false;
    std::vector<profiles::Finding> findings;
};

void to_json(nlohmann::json& j, const AuditReport& r);

AuditReport audit_instance(Daemon& daemon, std::int64_t project_id, const std::string& name);

} // namespace lodge::daemon
