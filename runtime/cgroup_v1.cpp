// cgroup v1: one directory per mounted hierarchy (cpu, cpuacct, cpuset,
// memory, devices, freezer, blkio, pids, name=systemd, whatever the host
// mounts), limits written to the controllers' own files.
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "runtime/cgroup_internal.hpp"

#include <algorithm>
#include <csignal>

namespace lodge::runtime::cgroup_detail {

namespace {

std::string parent_dir(const std::string& dir) { return dir.substr(0, dir.find_last_of('/')); }

std::string value_or(const std::optional<uint64_t>& v, const char* fallback) {
    return v ? std::to_string(*v) : fallback;
}

// A new v1 cpuset has no cpus and no mems, and no task can join it until
// both are set: give it its parent's (top down, so the parent has them).
void inherit_cpuset(const std::string& dir) {
    for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
        if (!trim(read_file(dir + f)).empty()) continue;
        write_file(dir + f, std::string(trim(read_file(parent_dir(dir) + f))) + "\n");
    }
}

} // namespace

CgroupV1::CgroupV1(std::vector<Hierarchy> hierarchies, std::string parent, std::string name)
    : hierarchies_(std::move(hierarchies)), parent_(std::move(parent)), name_(std::move(name)) {}

const Hierarchy* CgroupV1::find(std::string_view controller) const {
    for (const auto& h : hierarchies_)
        if (h.has(controller)) return &h;
    return nullptr;
}

bool CgroupV1::has_controller(std::string_view controller) const { return find(controller) != nullptr; }

std::string CgroupV1::dir_of(const Hierarchy& h) const { return h.mount + "/" + parent_ + "/" + name_; }

std::vector<std::string> CgroupV1::mounts() const {
    std::vector<std::string> out;
    for (const auto& h : hierarchies_) out.push_back(h.mount);
    return out;
}

std::vector<std::string> CgroupV1::paths() const {
    std::vector<std::string> out;
    for (const auto& h : hierarchies_) out.push_back(dir_of(h));
    return out;
}

bool CgroupV1::exists() const {
    for (const auto& h : hierarchies_)
        if (path_exists(dir_of(h))) return true;
    return false;
}

void CgroupV1::create(uid_t uid, gid_t gid) {
    Reverter undo;
    for (const auto& h : hierarchies_) {
        bool cpuset = h.has("cpuset");
        auto prepare = [cpuset](const std::string& d) {
            if (cpuset) inherit_cpuset(d);
        };
        std::string dir = make_cgroup_dir(h.mount, parent_, name_, prepare);
        undo.add([this, mount = h.mount] { remove_cgroups({mount}, parent_, name_); });
        if (cpuset) inherit_cpuset(dir);
        delegate_dir(dir, uid, gid, false);
    }
    undo.success();
}

void CgroupV1::apply(const Limits& limits) {
    validate_limits(limits);
    require_controllers(limits, [this](std::string_view c) { return has_controller(c); });
    if (auto* h = find("memory")) apply_memory(dir_of(*h), limits);
    if (auto* h = find("cpu")) apply_cpu(dir_of(*h), limits);
    if (auto* h = find("cpuset")) {
        std::string dir = dir_of(*h);
        // v1 has no "inherit" value: the default is the parent's list.
        write_file(dir + "/cpuset.cpus",
                   limits.cpuset_cpus ? *limits.cpuset_cpus
                                      : std::string(trim(read_file(parent_dir(dir) + "/cpuset.cpus"))));
    }
    if (auto* h = find("pids")) write_file(dir_of(*h) + "/pids.max", value_or(limits.pids_max, "max"));
}

Limits CgroupV1::read_limits() const {
    Limits l;
    if (auto* h = find("memory")) {
        std::string dir = dir_of(*h);
        l.memory_bytes = parse_limit(read_file(dir + "/memory.limit_in_bytes"));
        // memsw is memory plus swap; apply() sets it only with a memory limit.
        auto memsw = read_if_present(dir + "/memory.memsw.limit_in_bytes");
        if (auto both = memsw ? parse_limit(*memsw) : std::nullopt; both && l.memory_bytes)
            l.memory_swap_bytes = *both - std::min(*both, *l.memory_bytes);
    }
    if (auto* h = find("cpu")) {
        std::string dir = dir_of(*h);
        if (auto shares = read_u64_if_present(dir + "/cpu.shares")) l.cpu_weight = weight_from_v1_shares(*shares);
        if (auto quota = read_if_present(dir + "/cpu.cfs_quota_us")) l.cpu_quota_us = parse_limit(*quota);
        if (auto period = read_u64_if_present(dir + "/cpu.cfs_period_us")) l.cpu_period_us = *period;
    }
    if (auto* h = find("cpuset")) {
        // apply() writes the parent's list for "no limit".
        std::string dir = dir_of(*h);
        std::string cpus(trim(read_file(dir + "/cpuset.cpus")));
        if (cpus != trim(read_file(parent_dir(dir) + "/cpuset.cpus"))) l.cpuset_cpus = cpus;
    }
    if (auto* h = find("pids")) l.pids_max = parse_limit(read_file(dir_of(*h) + "/pids.max"));
    return without_defaults(l);
}

void CgroupV1::apply_memory(const std::string& dir, const Limits& limits) {
    std::string memory = dir + "/memory.limit_in_bytes";
    std::string memsw = dir + "/memory.memsw.limit_in_bytes";
    std::string memory_value = value_or(limits.memory_bytes, "-1");
    // memsw exists only with swap accounting on; without it swap is not
    // limited by cgroups at all, and there is nothing to write.
    auto memsw_text = read_if_present(memsw);
    if (!memsw_text) {
        write_file(memory, memory_value);
        return;
    }
    uint64_t current_memsw = parse_limit(*memsw_text).value_or(UINT64_MAX);
    std::string memsw_value = value_or(v1_memsw_target(limits), "-1");
    if (v1_memsw_first(limits.memory_bytes, current_memsw)) {
        write_file(memsw, memsw_value);
        write_file(memory, memory_value);
    } else {
        write_file(memory, memory_value);
        write_file(memsw, memsw_value);
    }
}

void CgroupV1::apply_cpu(const std::string& dir, const Limits& limits) {
    write_limit(dir + "/cpu.shares", std::to_string(v1_shares_from_weight(limits.cpu_weight.value_or(100))),
                limits.cpu_weight.has_value());
    // Bandwidth files exist only with CONFIG_CFS_BANDWIDTH. A quota being
    // lifted goes first, so the new period never meets the old quota.
    std::string quota = dir + "/cpu.cfs_quota_us", period = dir + "/cpu.cfs_period_us";
    bool set = limits.cpu_quota_us.has_value();
    if (!set) write_limit(quota, "-1", false);
    write_limit(period, std::to_string(limits.cpu_period_us), set);
    if (set) write_file(quota, std::to_string(*limits.cpu_quota_us));
}

void CgroupV1::attach(pid_t pid) {
    for (const auto& h : hierarchies_) attach_pid(dir_of(h), pid);
}

UsageParts CgroupV1::usage_parts() const {
    UsageParts u;
    if (auto* h = find("memory")) {
        std::string dir = dir_of(*h);
        require_dir(dir);
        u.memory = read_u64_if_present(dir + "/memory.usage_in_bytes");
        u.memory_peak = read_u64_if_present(dir + "/memory.max_usage_in_bytes");
        u.oom_kills = read_keyed_if_present(dir + "/memory.oom_control", "oom_kill");
    }
    if (auto* h = find("cpuacct")) {
        require_dir(dir_of(*h));
        u.cpu_ns = read_u64_if_present(dir_of(*h) + "/cpuacct.usage");
    }
    if (auto* h = find("pids")) {
        require_dir(dir_of(*h));
        u.pids = read_u64_if_present(dir_of(*h) + "/pids.current");
    }
    return u;
}

void CgroupV1::freeze(bool frozen) {
    auto* h = find("freezer");
    if (!h) throw Error(400, "cannot freeze: the freezer cgroup controller is not mounted");
    std::string path = dir_of(*h) + "/freezer.state";
    std::string want = frozen ? "FROZEN" : "THAWED";
    // Writing again is how runc and LXC nudge a FREEZING cgroup along when
    // tasks forked into it meanwhile.
    bool reached = wait_until(
        [&] {
            write_file(path, want);
            return trim(read_file(path)) == want;
        },
        std::chrono::seconds(5));
    if (reached) return;
    if (frozen) try_write_file(path, "THAWED"); // leave it running, not half frozen
    throw Error(std::string("timed out ") + (frozen ? "freezing " : "thawing ") + path);
}

bool CgroupV1::frozen() const {
    auto* h = find("freezer");
    return h && trim(read_file(dir_of(*h) + "/freezer.state")) == "FROZEN";
}

void CgroupV1::kill_all(int sig) {
    signal_tasks(paths(), sig);
    // The v1 freezer holds even killed tasks until thawed: let them die.
    if (sig == SIGKILL && frozen()) freeze(false);
}

void CgroupV1::destroy() { remove_cgroups(mounts(), parent_, name_); }

} // namespace lodge::runtime::cgroup_detail
