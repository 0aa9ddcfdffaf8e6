// Config that reaches instances while they run: id maps given out before a
// start, and changes to an instance or its profiles applied to the running
// container where the kernel allows it (cgroup limits, devices), with the
// rest reported as waiting for a restart.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "profiles/schema.hpp"
#include "profiles/values.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/hotplug.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lodge::daemon {

namespace {

// Beside the runtime's own files in the container's run directory: the
// expanded config the instance was started with.
constexpr const char* started_config_file = "lodge-started-config.json";

} // namespace

void Instances::assign_idmap(const InstanceLocation& where, api::Instance& instance) {
    auto& c = instance.expanded_config;
    if (profiles::truthy(profiles::value_of(c, "security.privileged"))) return;
    std::lock_guard guard(idmap_mutex_);
    if (profiles::truthy(profiles::value_of(c, "security.idmap.isolated"))) {
        const auto size_text = profiles::value_of(c, "security.idmap.size");
        const uint32_t size =
            size_text.empty() ? runtime::default_idmap_size : static_cast<uint32_t>(std::stoul(size_text));
        // Every other instance's blocks, whatever its project, and the
        // shared range the non-isolated instances run on.
        std::vector<profiles::IdBlock> taken;
        daemon_.with_db([&](db::Database& db) {
            auto st = db.prepare("SELECT value FROM instances_config WHERE key = 'volatile.idmap.current'"
                                 " AND instance_id != ?");
            st.bind(1, where.id);
            while (st.step())
                for (const auto& b : profiles::idmap_blocks(st.text(0))) taken.push_back(b);
        });
        const auto shared = runtime::root_idmap(runtime::default_idmap_size);
        taken.push_back({shared.uids.at(0).host, shared.uids.at(0).count});
        taken.push_back({shared.gids.at(0).host, shared.gids.at(0).count});
        auto base_text = profiles::value_of(c, "volatile.idmap.base");
        bool keep = !base_text.empty() && base_text != "0";
        if (keep) {
            // A base copied from elsewhere (or made by hand) that now overlaps
            // another instance is given up for a fresh one.
            const auto base = static_cast<uint32_t>(std::stoul(base_text));
            for (const auto& t : taken)
                if (uint64_t(base) < uint64_t(t.host) + t.count && uint64_t(t.host) < uint64_t(base) + size) keep = false;
        }
        if (!keep) {
            uint32_t base;
            if (auto wanted = profiles::value_of(c, "security.idmap.base"); !wanted.empty()) {
                base = static_cast<uint32_t>(std::stoul(wanted));
                for (const auto& t : taken)
                    if (uint64_t(base) < uint64_t(t.host) + t.count && uint64_t(t.host) < uint64_t(base) + size)
                        throw Error(400, "security.idmap.base " + wanted + " overlaps ids another instance uses");
            } else {
                base = profiles::allocate_isolated_base(size, taken);
            }
            c["volatile.idmap.base"] = instance.config["volatile.idmap.base"] = std::to_string(base);
            spdlog::info("instance {}: isolated id range {}-{}", where.name, base, uint64_t(base) + size - 1);
        }
    }
    const auto current = profiles::idmap_json(profiles::instance_idmap(c));
    if (profiles::value_of(c, "volatile.idmap.current") == current && !profiles::value_of(c, "volatile.idmap.base").empty()) return;
    if (profiles::value_of(c, "volatile.idmap.base").empty())
        c["volatile.idmap.base"] = instance.config["volatile.idmap.base"] = "0";
    c["volatile.idmap.current"] = instance.config["volatile.idmap.current"] = current;
    daemon_.with_db([&](db::Database& db) {
        db.transaction([&] {
            db::set_instance_config(db, where.id, "volatile.idmap.base", c["volatile.idmap.base"]);
            db::set_instance_config(db, where.id, "volatile.idmap.current", current);
        });
    });
}

std::optional<runtime::ContainerConfig> Instances::running_config(const InstanceLocation& where) const {
    try {
        runtime::ContainerConfig cfg;
        from_json(nlohmann::json::parse(read_file(runtime::container_run_dir(run_dir_, where.runtime_name) +
                                                  "/config.json")),
                  cfg);
        return cfg;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void Instances::record_started_config(const InstanceLocation& where, const api::Instance& instance) const {
    nlohmann::json j = instance.expanded_config;
    write_file_atomic(runtime::container_run_dir(run_dir_, where.runtime_name) + "/" + started_config_file, j.dump(),
                      0600);
}

bool Instances::apply_live(const InstanceLocation& where, const api::Instance& instance) {
    const auto st = runtime_status(where.runtime_name).status;
    if (st != "running" && st != "frozen") return false;
    const auto running = running_config(where);
    if (!running) return false;
    auto next = container_config(instance, where);
    if (running->limits != next.limits) {
        runtime::open_cgroup(where.runtime_name)->apply(next.limits);
        spdlog::info("instance {}: limits applied to the running container", where.name);
    }
    // Disks and unix devices: what went or changed is taken out, then what
    // is new goes in. The run directory's config follows each step, so a
    // failure halfway leaves it telling the truth.
    auto same_mount = [](const runtime::Mount& a, const runtime::Mount& b) {
        return a.source == b.source && a.target == b.target && a.readonly == b.readonly && a.shift == b.shift;
    };
    auto same_node = [](const runtime::DeviceNode& a, const runtime::DeviceNode& b) {
        return a.path == b.path && a.type == b.type && a.major == b.major && a.minor == b.minor && a.uid == b.uid &&
               a.gid == b.gid && a.mode == b.mode;
    };
    for (const auto& m : running->mounts)
        if (std::none_of(next.mounts.begin(), next.mounts.end(), [&](const auto& n) { return same_mount(m, n); })) {
            runtime::remove_mount(run_dir_, where.runtime_name, m.target);
            spdlog::info("instance {}: {} unmounted", where.name, m.target);
        }
    for (const auto& d : running->devices)
        if (std::none_of(next.devices.begin(), next.devices.end(), [&](const auto& n) { return same_node(d, n); })) {
            runtime::remove_device(run_dir_, where.runtime_name, d.path);
            spdlog::info("instance {}: device {} removed", where.name, d.path);
        }
    for (const auto& m : next.mounts)
        if (std::none_of(running->mounts.begin(), running->mounts.end(), [&](const auto& r) { return same_mount(m, r); })) {
            runtime::add_mount(run_dir_, where.runtime_name, m);
            spdlog::info("instance {}: {} mounted at {}", where.name, m.source, m.target);
        }
    for (const auto& d : next.devices)
        if (std::none_of(running->devices.begin(), running->devices.end(), [&](const auto& r) { return same_node(d, r); })) {
            runtime::add_device(run_dir_, where.runtime_name, d);
            spdlog::info("instance {}: device {} added", where.name, d.path);
        }
    auto with_volatile = instance;
    apply_network_devices(where, with_volatile, runtime_status(where.runtime_name).init_pid);
    return restart_pending(where, instance);
}

bool Instances::restart_pending(const InstanceLocation& where, const api::Instance& instance) const {
    // Every key that changed since the start and is not applied live waits
    // for the next start.
    api::ConfigMap started;
    try {
        started = nlohmann::json::parse(
                      read_file(runtime::container_run_dir(run_dir_, where.runtime_name) + "/" + started_config_file))
                      .template get<api::ConfigMap>();
    } catch (const std::exception&) {
        return true; // started before lodged kept the record: cannot tell
    }
    auto changed = [&](const std::string& key) {
        auto a = started.find(key);
        auto b = instance.expanded_config.find(key);
        const std::string before = a == started.end() ? "" : a->second,
                          after = b == instance.expanded_config.end() ? "" : b->second;
        return before != after && !profiles::applies_live(key);
    };
    for (const auto& [key, value] : started)
        if (changed(key)) return true;
    for (const auto& [key, value] : instance.expanded_config)
        if (changed(key)) return true;
    return false;
}

std::vector<std::string> Instances::profile_changed(std::int64_t project_id, const std::string& profile) {
    const auto names = daemon_.with_db([&](db::Database& db) {
        auto st = db.prepare("SELECT i.name FROM instances_profiles ip JOIN instances i ON i.id = ip.instance_id"
                             " JOIN profiles p ON p.id = ip.profile_id WHERE p.project_id = ? AND p.name = ?"
                             " ORDER BY i.name");
        st.bind_all(project_id, profile);
        std::vector<std::string> out;
        while (st.step()) out.push_back(st.text(0));
        return out;
    });
    std::vector<std::string> restart;
    for (const auto& name : names) {
        try {
            auto lock = lock_for(name);
            std::lock_guard guard(*lock);
            const auto where = locate(project_id, name);
            if (apply_live(where, get(project_id, name))) restart.push_back(name);
        } catch (const std::exception& e) {
            // One instance that cannot take the change must not keep the
            // others from it; the next start applies it anyway.
            spdlog::warn("instance {}: applying the change of profile {}: {}", name, profile, e.what());
            restart.push_back(name);
        }
    }
    return restart;
}

} // namespace lodge::daemon
