// From an instance's expanded config to what the runtime starts, and which
// config keys an instance may carry. The key names and value forms are
// LXD's (doc/reference/instance_options.md), so configs move between the two.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "daemon/instances/schedule.hpp"
#include "daemon/server_config.hpp"
#include "runtime/idmap.hpp"

#include <cctype>
#include <set>
#include <string_view>

namespace lodge::daemon {

namespace {

bool is_bool(const std::string& v) { return v == "true" || v == "false" || v == "1" || v == "0" || v.empty(); }
bool truthy(const std::string& v) { return v == "true" || v == "1"; }

bool is_unsigned(const std::string& v) {
    return !v.empty() && v.size() < 19 &&
           std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// limits.cpu: a count ("2": the first two cpus) or a set ("0-1,3").
std::string cpuset_from(const std::string& v) {
    if (is_unsigned(v)) {
        const auto n = std::stoul(v);
        if (n == 0) throw Error(400, "Invalid value for limits.cpu: 0");
        return n == 1 ? "0" : "0-" + std::to_string(n - 1);
    }
    for (char c : v)
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != ',')
            throw Error(400, "Invalid value for limits.cpu: " + v);
    return v;
}

// limits.cpu.allowance: "50%" of one cpu's time, or "25ms/100ms".
void apply_allowance(const std::string& v, runtime::Limits& limits) {
    auto fail = [&] { throw Error(400, "Invalid value for limits.cpu.allowance: " + v); };
    if (v.size() > 1 && v.back() == '%') {
        const auto pct = v.substr(0, v.size() - 1);
        if (!is_unsigned(pct)) fail();
        // A percentage is a share under contention in LXD; with no other
        // weight to compare against, a weight is its nearest meaning.
        limits.cpu_weight = std::max<uint64_t>(1, std::min<uint64_t>(10000, std::stoul(pct)));
        return;
    }
    const auto slash = v.find('/');
    if (slash == std::string::npos) fail();
    auto ms = [&](std::string s) {
        if (s.size() < 3 || s.substr(s.size() - 2) != "ms" || !is_unsigned(s.substr(0, s.size() - 2))) fail();
        return std::stoull(s.substr(0, s.size() - 2)) * 1000;
    };
    limits.cpu_quota_us = ms(v.substr(0, slash));
    limits.cpu_period_us = ms(v.substr(slash + 1));
}

const std::set<std::string_view>& known_keys() {
    static const std::set<std::string_view> keys{
        "boot.autostart", "boot.autostart.delay", "boot.autostart.priority", "boot.host_shutdown_timeout",
        "boot.stop.priority", "limits.cpu", "limits.cpu.allowance", "limits.cpu.priority", "limits.memory",
        "limits.memory.swap", "limits.processes", "security.privileged", "security.idmap.size",
        "security.protection.delete", "linux.init", "linux.halt_signal", "snapshots.schedule",
        "snapshots.pattern", "snapshots.expiry", "snapshots.schedule.stopped", "cloud-init.user-data",
        "cloud-init.vendor-data", "cloud-init.network-config", "user.user-data", "user.meta-data"};
    return keys;
}

} // namespace

void validate_instance_config(const api::ConfigMap& config) {
    for (const auto& [key, value] : config) {
        const bool free_form = key.rfind("user.", 0) == 0 || key.rfind("environment.", 0) == 0 ||
                               key.rfind("image.", 0) == 0 || key.rfind("volatile.", 0) == 0;
        if (!free_form && !known_keys().count(key)) throw Error(400, "Invalid config: Unknown configuration key: " + key);
        auto bad = [&] { throw Error(400, "Invalid config: invalid value for " + key + ": \"" + value + "\""); };
        if (key == "limits.memory" && !value.empty()) {
            if (value.back() != '%') {
                try {
                    runtime::parse_size(value);
                } catch (const Error&) {
                    bad();
                }
            } else if (!is_unsigned(value.substr(0, value.size() - 1))) bad();
        }
        if ((key == "limits.processes" || key == "security.idmap.size" || key == "limits.cpu.priority") &&
            !value.empty() && !is_unsigned(value))
            bad();
        if ((key == "security.privileged" || key == "boot.autostart" || key == "limits.memory.swap" ||
             key == "security.protection.delete") &&
            !is_bool(value))
            bad();
        if (key == "limits.cpu" && !value.empty()) cpuset_from(value);
        if (key == "limits.cpu.allowance" && !value.empty()) {
            runtime::Limits scratch;
            apply_allowance(value, scratch);
        }
        if (key == "linux.halt_signal" && !value.empty() && runtime::signal_from_name(value) < 0) bad();
        if (key == "snapshots.schedule") CronSchedule::parse(value); // throws naming the bad part
        if (key == "snapshots.expiry") expiry_after(api::now(), value);
        if (key == "snapshots.schedule.stopped" && !is_bool(value)) bad();
        if (key == "snapshots.pattern" && value.find('/') != std::string::npos) bad();
    }
}

runtime::ContainerConfig Instances::container_config(const api::Instance& instance,
                                                     const InstanceLocation& where) const {
    const auto& c = instance.expanded_config;
    auto get = [&](const std::string& key) {
        auto it = c.find(key);
        return it == c.end() ? std::string() : it->second;
    };
    runtime::ContainerConfig cfg;
    cfg.name = where.runtime_name;
    cfg.rootfs = where.rootfs;
    if (auto init = get("linux.init"); !init.empty()) cfg.init = {init};
    if (auto sig = get("linux.halt_signal"); !sig.empty()) cfg.halt_signal = runtime::signal_from_name(sig);
    for (const auto& [key, value] : c)
        if (key.rfind("environment.", 0) == 0) cfg.env.push_back(key.substr(12) + "=" + value);
    cfg.privileged = truthy(get("security.privileged"));
    if (!cfg.privileged) {
        const auto size = get("security.idmap.size");
        cfg.idmap = runtime::root_idmap(size.empty() ? runtime::default_idmap_size
                                                     : static_cast<uint32_t>(std::stoul(size)));
    }
    if (auto mem = get("limits.memory"); !mem.empty()) {
        if (mem.back() == '%') {
            const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
            cfg.limits.memory_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 100 *
                                      std::stoull(mem.substr(0, mem.size() - 1));
        } else {
            cfg.limits.memory_bytes = runtime::parse_size(mem);
        }
        // LXD's limits.memory.swap=false means no swap beyond the memory limit.
        if (get("limits.memory.swap") == "false") cfg.limits.memory_swap_bytes = 0;
    }
    if (auto n = get("limits.processes"); !n.empty()) cfg.limits.pids_max = std::stoull(n);
    if (auto cpus = get("limits.cpu"); !cpus.empty()) cfg.limits.cpuset_cpus = cpuset_from(cpus);
    if (auto a = get("limits.cpu.allowance"); !a.empty()) apply_allowance(a, cfg.limits);
    // limits.cpu.priority 0..10 as LXD; 5 is the default weight.
    if (auto p = get("limits.cpu.priority"); !p.empty())
        cfg.limits.cpu_weight = std::max<uint64_t>(1, std::min<uint64_t>(10, std::stoull(p)) * 20);
    cfg.validate();
    return cfg;
}

} // namespace lodge::daemon
