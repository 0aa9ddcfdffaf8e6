// lodge audit for one instance: its profiles in order for the baseline
// rules, and the running container read from the host (runtime/inspect.hpp)
// against the runtime config its instance's config gives now.
#include "daemon/instances/audit.hpp"

#include "api/status.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/device_cgroup.hpp"
#include "runtime/inspect.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/security.hpp"

#include <algorithm>
#include <set>
#include <sstream>

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


namespace {

std::string text_of(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "unset"; }

// "0-2,5" and "0,1,2,5" name the same cpus.
std::set<unsigned> cpu_set(const std::optional<std::string>& spec) {
    std::set<unsigned> out;
    if (!spec) return out;
    std::stringstream in(*spec);
    std::string part;
    while (std::getline(in, part, ',')) {
        if (part.empty()) continue;
        const auto dash = part.find('-');
        const unsigned first = static_cast<unsigned>(std::stoul(part.substr(0, dash)));
        const unsigned last = dash == std::string::npos ? first : static_cast<unsigned>(std::stoul(part.substr(dash + 1)));
        for (unsigned c = first; c <= last && c < 4096; ++c) out.insert(c);
    }
    return out;
}

} // namespace

std::vector<profiles::Finding> Instances::kernel_drift(const InstanceLocation& where, const api::Instance& instance) const {
    std::vector<profiles::Finding> out;
    auto add = [&](std::string check, std::string expected, std::string actual, std::string source, std::string message) {
        out.push_back({"kernel", std::move(check), std::move(expected), std::move(actual), std::move(source),
                       std::move(message)});
    };
    const auto run = runtime::container_run_dir(run_dir_, where.runtime_name);
    const auto record = running_config(where);
    if (!record) {
        add("config.json", "readable", "unreadable", run, "the runtime's record of the start cannot be read");
        return out;
    }
    const auto& started = *record;
    runtime::KernelState state;
    try {
        state = runtime::inspect_container(run_dir_, where.runtime_name);
    } catch (const Error& e) {
        if (e.status() == 404) return out; // stopped meanwhile
        throw;
    }
    const std::string proc = "/proc/" + std::to_string(state.init_pid);

    // Id maps: what the container was started with.
    if (started.privileged) {
        if (state.user_namespace_private)
            add("user_namespace", "host's", "private", proc + "/ns/user", "a privileged instance runs in a user namespace");
    } else {
        if (!state.user_namespace_private)
            add("user_namespace", "private", "host's", proc + "/ns/user", "init runs in the host's user namespace");
        if (state.idmap.uid_map_text() != started.idmap.uid_map_text())
            add("uid_map", started.idmap.uid_map_text(), state.idmap.uid_map_text(), proc + "/uid_map",
                "init's uid map is not the one it was started with");
        if (state.idmap.gid_map_text() != started.idmap.gid_map_text())
            add("gid_map", started.idmap.gid_map_text(), state.idmap.gid_map_text(), proc + "/gid_map",
                "init's gid map is not the one it was started with");
    }
    if (!state.cgroup_namespace_private)
        add("cgroup_namespace", "private", "host's", proc + "/ns/cgroup", "init sees the host's cgroup tree");

    // Capabilities and seccomp.
    if (!state.dropped_caps_present.empty()) {
        std::string present;
        for (const auto& c : state.dropped_caps_present) present += (present.empty() ? "" : ",") + c;
        add("capabilities.bounding", "without " + present, "with " + present, proc + "/status",
            "capabilities the policy drops are in init's bounding set");
    }
    if (state.seccomp_mode != 2)
        add("seccomp.mode", "2 (filter)", std::to_string(state.seccomp_mode), proc + "/status", "init is not under a seccomp filter");
    if (state.filter != runtime::FilterMatch::match)
        add("seccomp.filter", "match", runtime::to_string(state.filter), "ptrace(PTRACE_SECCOMP_GET_FILTER)",
            state.filter_detail.empty() ? "init's filter is not the runtime's program" : state.filter_detail);
    try {
        const auto on_disk = read_file(run + "/seccomp.bpf");
        const auto compiled = runtime::compile_seccomp(started.security);
        if (on_disk != std::string(compiled.begin(), compiled.end()))
            add("seccomp.program", "compiled from the policy", "different", run + "/seccomp.bpf",
                "the program kept for the container is not the one its policy compiles to");
    } catch (const std::exception& e) {
        add("seccomp.program", "readable", "unreadable", run + "/seccomp.bpf", e.what());
    }

    // Devices the cgroup allows: the rules lodge applied, still in force.
    try {
        const auto devices = runtime::read_device_cgroup(run_dir_, where.runtime_name);
        if (devices.v1) {
            std::set<std::string> have(devices.v1->begin(), devices.v1->end());
            std::string extra;
            for (const auto& rule : have)
                if (std::find(devices.expected.begin(), devices.expected.end(), rule) == devices.expected.end())
                    extra += (extra.empty() ? "" : ", ") + rule;
            if (!extra.empty())
                add("devices.v1", "only lodge's rules", "also " + extra, "devices.list",
                    "the v1 device cgroup allows devices the config does not");
        }
        if (devices.has_v2 && !devices.v2_intact)
            add("devices.v2", "lodge's device program", devices.v2_attached.empty() ? "none" : "another program",
                "BPF_PROG_QUERY", "the device program lodge attached is not the one in force");
    } catch (const Error& e) {
        if (e.status() != 404) add("devices", "readable", "unreadable", run, e.what());
    }

    // Limits: the instance's config now, since limits apply live.
    const auto want = container_config(instance, where).limits;
    const auto& have = state.limits;
    const std::string cg = state.cgroup_paths.empty() ? "cgroup" : state.cgroup_paths.front();
    auto page_down = [](const std::optional<uint64_t>& v) -> std::optional<uint64_t> {
        return v ? std::optional<uint64_t>(*v / 4096 * 4096) : std::nullopt;
    };
    if (page_down(want.memory_bytes) != page_down(have.memory_bytes))
        add("limits.memory", text_of(want.memory_bytes), text_of(have.memory_bytes), cg,
            "the memory limit in force is not the configured one");
    if (page_down(want.memory_soft_bytes) != page_down(have.memory_soft_bytes))
        add("limits.memory.enforce", text_of(want.memory_soft_bytes), text_of(have.memory_soft_bytes), cg,
            "the soft memory limit in force is not the configured one");
    if (page_down(want.memory_swap_bytes) != page_down(have.memory_swap_bytes))
        add("limits.memory.swap", text_of(want.memory_swap_bytes), text_of(have.memory_swap_bytes), cg,
            "the swap limit in force is not the configured one");
    if (want.pids_max != have.pids_max)
        add("limits.processes", text_of(want.pids_max), text_of(have.pids_max), cg,
            "the process limit in force is not the configured one");
    auto weight = [](const std::optional<uint64_t>& w) { return w && *w != 100 ? w : std::nullopt; };
    if (weight(want.cpu_weight) != weight(have.cpu_weight))
        add("limits.cpu.priority", text_of(weight(want.cpu_weight)), text_of(weight(have.cpu_weight)), cg,
            "the cpu weight in force is not the configured one");
    if (want.cpu_quota_us != have.cpu_quota_us || (want.cpu_quota_us && want.cpu_period_us != have.cpu_period_us))
        add("limits.cpu.allowance", want.cpu_quota_us ? text_of(want.cpu_quota_us) + "/" + std::to_string(want.cpu_period_us) : "unset",
            have.cpu_quota_us ? text_of(have.cpu_quota_us) + "/" + std::to_string(have.cpu_period_us) : "unset", cg,
            "the cpu quota in force is not the configured one");
    if (want.cpuset_cpus && cpu_set(want.cpuset_cpus) != cpu_set(have.cpuset_cpus))
        add("limits.cpu", *want.cpuset_cpus, have.cpuset_cpus.value_or("unset"), cg,
            "the cpus in force are not the configured ones");
    return out;
}

} // namespace lodge::daemon
