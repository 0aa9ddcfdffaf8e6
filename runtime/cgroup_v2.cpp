// cgroup v2: the container's directory in the unified hierarchy, controllers
// enabled down the lodge subtree, cgroup.freeze, cgroup.kill, and the fd
// clone3 needs for CLONE_INTO_CGROUP.
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "runtime/cgroup_internal.hpp"

#include <fcntl.h>

#include <algorithm>
#include <csignal>
#include <sstream>

namespace lodge::runtime::cgroup_detail {

namespace {

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// Passes every controller the directory has on to its children, so the
// container gets them and the guest's systemd can use them in turn. We never
// write the hierarchy root's subtree_control: what the host's manager did
// not enable there is not ours to enable. A controller that refuses (e.g.
// cpuset in a threaded subtree) is left off; apply() names it if a limit
// needs it.
void enable_controllers(const std::string& dir) {
    auto enabled = words(read_file(dir + "/cgroup.subtree_control"));
    for (const auto& c : words(read_file(dir + "/cgroup.controllers")))
        if (!contains(enabled, c)) try_write_file(dir + "/cgroup.subtree_control", "+" + c);
}

std::string value_or(const std::optional<uint64_t>& v, const char* fallback) {
    return v ? std::to_string(*v) : fallback;
}

} // namespace

CgroupV2::CgroupV2(std::string mount, std::string parent, std::string name)
    : mount_(std::move(mount)), parent_(std::move(parent)), name_(std::move(name)),
      dir_(mount_ + "/" + parent_ + "/" + name_) {}

void CgroupV2::create(uid_t uid, gid_t gid) {
    fd_.reset();
    make_cgroup_dir(mount_, parent_, name_, enable_controllers);
    Reverter undo;
    undo.add([this] { remove_cgroups({mount_}, parent_, name_); });
    delegate_dir(dir_, uid, gid, true);
    undo.success();
}

bool CgroupV2::has_controller(std::string_view controller) const {
    return contains(words(read_file(dir_ + "/cgroup.controllers")), controller);
}

void CgroupV2::apply(const Limits& limits) {
    validate_limits(limits);
    auto available = words(read_file(dir_ + "/cgroup.controllers"));
    auto has = [&](std::string_view c) { return contains(available, c); };
    require_controllers(limits, has);
    if (has("memory")) {
        write_file(dir_ + "/memory.max", value_or(limits.memory_bytes, "max"));
        // memory.swap.max is missing when swap accounting is off; then
        // swap is simply not limited per cgroup.
        if (path_exists(dir_ + "/memory.swap.max"))
            write_file(dir_ + "/memory.swap.max", value_or(limits.memory_swap_bytes, "max"));
    }
    if (has("cpu")) {
        write_file(dir_ + "/cpu.weight", std::to_string(limits.cpu_weight.value_or(100)));
        write_limit(dir_ + "/cpu.max", v2_cpu_max(limits), limits.cpu_quota_us.has_value());
    }
    // An empty list means "the nearest ancestor's"; the newline keeps the
    // write from being a zero-length one.
    if (has("cpuset")) write_file(dir_ + "/cpuset.cpus", limits.cpuset_cpus.value_or("") + "\n");
    if (has("pids")) write_file(dir_ + "/pids.max", value_or(limits.pids_max, "max"));
}

Limits CgroupV2::read_limits() const {
    require_dir(dir_);
    // A file is there exactly when its controller is enabled for the
    // directory.
    Limits l;
    if (auto v = read_if_present(dir_ + "/memory.max")) l.memory_bytes = parse_limit(*v);
    if (auto v = read_if_present(dir_ + "/memory.swap.max")) l.memory_swap_bytes = parse_limit(*v);
    if (auto v = read_u64_if_present(dir_ + "/cpu.weight")) l.cpu_weight = *v;
    if (auto v = read_if_present(dir_ + "/cpu.max")) {
        auto quota_period = parse_cpu_max(*v);
        if (!quota_period) throw Error("unexpected contents of " + dir_ + "/cpu.max: '" + *v + "'");
        l.cpu_quota_us = quota_period->first;
        l.cpu_period_us = quota_period->second;
    }
    // Empty means the nearest ancestor's: no limit of the container's own.
    if (auto v = read_if_present(dir_ + "/cpuset.cpus"); v && !trim(*v).empty()) l.cpuset_cpus = std::string(trim(*v));
    if (auto v = read_if_present(dir_ + "/pids.max")) l.pids_max = parse_limit(*v);
    return without_defaults(l);
}

int CgroupV2::unified_fd() const {
    if (!fd_) {
        fd_.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!fd_) throw_errno("open cgroup " + dir_);
    }
    return fd_.get();
}

UsageParts CgroupV2::usage_parts() const {
    require_dir(dir_);
    UsageParts u;
    u.memory = read_u64_if_present(dir_ + "/memory.current");
    u.memory_peak = read_u64_if_present(dir_ + "/memory.peak"); // Linux 5.19+
    u.oom_kills = read_keyed_if_present(dir_ + "/memory.events", "oom_kill");
    // cpu.stat's usage is kept even without the cpu controller.
    if (auto us = read_keyed_if_present(dir_ + "/cpu.stat", "usage_usec")) u.cpu_ns = *us * 1000;
    u.pids = read_u64_if_present(dir_ + "/pids.current");
    return u;
}

void CgroupV2::freeze(bool frozen) {
    std::string path = dir_ + "/cgroup.freeze";
    if (!path_exists(path)) {
        require_dir(dir_);
        throw Error(400, "cannot freeze: " + path + " is missing (the v2 freezer needs Linux 5.2)");
    }
    write_file(path, frozen ? "1" : "0");
    bool reached = wait_until(
        [&] { return keyed_value(read_file(dir_ + "/cgroup.events"), "frozen") == (frozen ? 1u : 0u); },
        std::chrono::seconds(5));
    if (reached) return;
    if (frozen) try_write_file(path, "0"); // leave it running, not half frozen
    throw Error(std::string("timed out ") + (frozen ? "freezing " : "thawing ") + dir_);
}

bool CgroupV2::frozen() const {
    return keyed_value(read_file(dir_ + "/cgroup.events"), "frozen").value_or(0) == 1;
}

void CgroupV2::kill_all(int sig) {
    // cgroup.kill (Linux 5.14) kills the whole subtree at once, forks
    // included; older kernels get the pid-by-pid way.
    if (sig == SIGKILL && path_exists(dir_ + "/cgroup.kill"))
        write_file(dir_ + "/cgroup.kill", "1");
    else
        signal_tasks({dir_}, sig);
}

void CgroupV2::destroy() {
    fd_.reset();
    remove_cgroups({mount_}, parent_, name_);
}

} // namespace lodge::runtime::cgroup_detail
