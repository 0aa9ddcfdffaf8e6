// From an instance's expanded config to what the runtime starts, and which
// config keys an instance may carry. The key names and value forms are
// LXD's (doc/reference/instance_options.md), so configs move between the two.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "profiles/schema.hpp"
#include "profiles/values.hpp"
#include "daemon/server_config.hpp"
#include "runtime/idmap.hpp"

#include <algorithm>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cctype>
#include <filesystem>
#include <set>
#include <string_view>

namespace lodge::daemon {

runtime::ContainerConfig Instances::container_config(const api::Instance& instance,
                                                     const InstanceLocation& where) const {
    const auto& c = instance.expanded_config;
    auto get = [&](const std::string& key) { return profiles::value_of(c, key); };
    runtime::ContainerConfig cfg;
    cfg.name = where.runtime_name;
    cfg.rootfs = where.rootfs;
    if (auto init = get("linux.init"); !init.empty()) cfg.init = {init};
    if (auto sig = get("linux.halt_signal"); !sig.empty()) cfg.halt_signal = runtime::signal_from_name(sig);
    for (const auto& [key, value] : c)
        if (key.rfind("environment.", 0) == 0) cfg.env.push_back(key.substr(12) + "=" + value);
    cfg.privileged = profiles::truthy(get("security.privileged"));
    if (!cfg.privileged) cfg.idmap = profiles::instance_idmap(c);
    // The runtime's default deny list is security.syscalls.deny_default
    // (on unless set to false); the other lists add to it.
    if (get("security.syscalls.deny_default") == "false" || get("security.syscalls.deny_default") == "0")
        cfg.security.syscalls_deny.clear();
    for (const auto& name : profiles::name_list(get("security.syscalls.deny")))
        if (std::find(cfg.security.syscalls_deny.begin(), cfg.security.syscalls_deny.end(), name) ==
            cfg.security.syscalls_deny.end())
            cfg.security.syscalls_deny.push_back(name);
    // An allow list replaces the deny lists (the runtime refuses both).
    if (auto allow = profiles::name_list(get("security.syscalls.allow")); !allow.empty()) {
        if (!get("security.syscalls.deny").empty())
            throw Error(400, "security.syscalls.allow and security.syscalls.deny exclude each other (set in this "
                             "instance or its profiles)");
        cfg.security.syscalls_allow = allow;
        cfg.security.syscalls_deny.clear();
    }
    cfg.security.deny_compat = profiles::truthy(get("security.syscalls.deny_compat"));
    cfg.security.restrict_personality = get("lodge.security.personality") == "linux";
    for (const auto& name : profiles::name_list(get("lodge.security.caps.drop")))
        if (std::find(cfg.security.caps_drop.begin(), cfg.security.caps_drop.end(), name) == cfg.security.caps_drop.end())
            cfg.security.caps_drop.push_back(name);
    if (auto mem = get("limits.memory"); !mem.empty()) {
        // enforce=soft: reclaimed under pressure instead of a hard cap.
        if (get("limits.memory.enforce") == "soft")
            cfg.limits.memory_soft_bytes = profiles::memory_bytes(mem);
        else
            cfg.limits.memory_bytes = profiles::memory_bytes(mem);
        // LXD's limits.memory.swap=false means no swap beyond the memory limit.
        if (get("limits.memory.swap") == "false") cfg.limits.memory_swap_bytes = 0;
    }
    if (auto n = get("limits.processes"); !n.empty()) cfg.limits.pids_max = std::stoull(n);
    if (auto cpus = get("limits.cpu"); !cpus.empty()) cfg.limits.cpuset_cpus = profiles::cpuset_from(cpus);
    if (auto a = get("limits.cpu.allowance"); !a.empty()) {
        const auto allowance = profiles::parse_allowance(a);
        if (allowance.weight) cfg.limits.cpu_weight = std::max<uint64_t>(1, *allowance.weight);
        cfg.limits.cpu_quota_us = allowance.quota_us;
        cfg.limits.cpu_period_us = allowance.period_us;
    }
    // limits.cpu.priority 0..10 as LXD; 5 is the default weight.
    if (auto p = get("limits.cpu.priority"); !p.empty())
        cfg.limits.cpu_weight = std::max<uint64_t>(1, std::min<uint64_t>(10, std::stoull(p)) * 20);
    // Disk devices other than the root: a pool's custom volume, or a host
    // directory, mounted idmapped at their path (host files keep their
    // owners; the container sees them through its own map).
    for (const auto& [dev, keys] : instance.expanded_devices) {
        auto key = [&](const char* k) { return profiles::value_of(keys, k); };
        if (key("type") != "disk" || key("path") == "/") continue;
        if (key("source").empty() || key("path").empty())
            throw Error(400, "Device \"" + dev + "\": a disk needs a source and a path");
        if (key("pool").empty()) {
            std::error_code ec;
            if (!std::filesystem::is_directory(key("source"), ec)) {
                // required=false: a missing source is skipped, as LXD does.
                if (key("required") == "false") continue;
                throw Error(400, "Device \"" + dev + "\": source \"" + key("source") + "\" is not a directory on the host");
            }
            cfg.mounts.push_back({key("source"), key("path"), profiles::truthy(key("readonly")), key("shift") != "false"});
            continue;
        }
        const storage::Volume volume{storage::VolumeType::Custom, Pools::disk_name(where.project, key("source")), {}};
        auto& driver = daemon_.pools().driver(key("pool"));
        if (!driver.exists(volume))
            throw Error(404, "Device \"" + dev + "\": storage volume \"" + key("source") + "\" not found in pool \"" +
                                 key("pool") + "\"");
        cfg.mounts.push_back({driver.path(volume), key("path"), profiles::truthy(key("readonly")), key("shift") != "false"});
    }
    // unix-char and unix-block: a node at `path` (else at `source`'s path),
    // with the numbers given or those of the host's `source`.
    for (const auto& [dev, keys] : instance.expanded_devices) {
        auto key = [&](const char* k) { return profiles::value_of(keys, k); };
        const auto type = key("type");
        if (type != "unix-char" && type != "unix-block") continue;
        runtime::DeviceNode node;
        node.type = type == "unix-char" ? 'c' : 'b';
        node.path = key("path").empty() ? key("source") : key("path");
        if (!key("major").empty() && !key("minor").empty()) {
            node.major = static_cast<uint32_t>(std::stoul(key("major")));
            node.minor = static_cast<uint32_t>(std::stoul(key("minor")));
        } else {
            struct stat st {};
            if (key("source").empty() || ::stat(key("source").c_str(), &st) != 0) {
                if (key("required") == "false") continue;
                throw Error(400, "Device \"" + dev + "\": source \"" + key("source") + "\" is not on the host "
                                 "(give major and minor to make the node without one)");
            }
            if ((node.type == 'c' && !S_ISCHR(st.st_mode)) || (node.type == 'b' && !S_ISBLK(st.st_mode)))
                throw Error(400, "Device \"" + dev + "\": source \"" + key("source") + "\" is not a " +
                                     (node.type == 'c' ? "character" : "block") + " device");
            node.major = ::major(st.st_rdev);
            node.minor = ::minor(st.st_rdev);
        }
        if (!key("uid").empty()) node.uid = static_cast<uint32_t>(std::stoul(key("uid")));
        if (!key("gid").empty()) node.gid = static_cast<uint32_t>(std::stoul(key("gid")));
        if (!key("mode").empty()) node.mode = static_cast<uint32_t>(std::stoul(key("mode"), nullptr, 8));
        cfg.devices.push_back(node);
    }
    cfg.validate();
    return cfg;
}

} // namespace lodge::daemon
