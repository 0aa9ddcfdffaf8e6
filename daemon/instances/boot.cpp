// Instances and the host's boot: those with boot.autostart start when
// lodged first starts after the host booted (highest boot.autostart.priority
// first, boot.autostart.delay after each), and the host's shutdown stops
// every running instance cleanly (highest boot.stop.priority first, each
// within its boot.host_shutdown_timeout, then forced).
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/projects.hpp"
#include "profiles/values.hpp"
#include "runtime/control.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

namespace lodge::daemon {

namespace {

struct BootEntry {
    std::int64_t project_id;
    std::string name;
    long priority;
    long delay_s;   // autostart: pause after starting it
    long timeout_s; // shutdown: clean stop allowed before force
};

long number(const api::ConfigMap& c, const std::string& key, long fallback) {
    auto it = c.find(key);
    if (it == c.end() || it->second.empty()) return fallback;
    try {
        return std::stol(it->second);
    } catch (const std::exception&) {
        return fallback;
    }
}

template <typename Pick>
std::vector<BootEntry> entries(Daemon& daemon, const char* priority_key, Pick pick) {
    std::vector<BootEntry> out;
    daemon.with_db([&](db::Database& db) {
        for (const auto& project : db::project_names(db)) {
            const auto project_id = *db::project_id(db, project);
            for (const auto& i : db::all_instances(db, project_id)) {
                if (!pick(project_id, i)) continue;
                const auto& c = i.expanded_config;
                out.push_back({project_id, i.name, number(c, priority_key, 0), number(c, "boot.autostart.delay", 0),
                               number(c, "boot.host_shutdown_timeout", 30)});
            }
        }
    });
    // Highest priority first; equal ones by name, so the order is stable.
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
    });
    return out;
}

} // namespace

bool Instances::first_start_since_boot() {
    const auto record = daemon_.state_dir() + "/boot_id";
    const auto now = read_file("/proc/sys/kernel/random/boot_id");
    std::string before;
    try {
        before = read_file(record);
    } catch (const std::exception&) {
    }
    if (before == now) return false;
    write_file_atomic(record, now, 0644);
    return true;
}

void Instances::autostart(std::stop_token stop) {
    // As LXD: boot.autostart=true always starts, false never; unset
    // restores the state the host's shutdown left.
    const auto due = entries(daemon_, "boot.autostart.priority", [](std::int64_t, const api::Instance& i) {
        auto it = i.expanded_config.find("boot.autostart");
        if (it != i.expanded_config.end() && !it->second.empty()) return profiles::truthy(it->second);
        auto power = i.expanded_config.find("volatile.last_state.power");
        return power != i.expanded_config.end() && power->second == "RUNNING";
    });
    for (const auto& e : due) {
        if (stop.stop_requested()) return;
        try {
            const auto where = locate(e.project_id, e.name);
            if (status(where) != api::StatusCode::Stopped) continue;
            {
                auto lock = lock_for(e.name);
                std::lock_guard guard(*lock);
                start_now(e.project_id, where);
            }
            daemon_.events().lifecycle("instance-started", "/1.0/instances/" + e.name);
            spdlog::info("instance {}: started (boot.autostart)", e.name);
        } catch (const std::exception& ex) {
            spdlog::error("instance {}: autostart: {}", e.name, ex.what());
            continue;
        }
        for (long waited = 0; waited < e.delay_s * 10 && !stop.stop_requested(); ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void Instances::shutdown_all() {
    // A guest that powered itself off still says RUNNING (nothing told
    // lodged); it must not come back at the next boot.
    std::vector<std::pair<std::int64_t, std::string>> powered_off;
    auto running = entries(daemon_, "boot.stop.priority", [&](std::int64_t project_id, const api::Instance& i) {
        InstanceLocation where;
        where.runtime_name = i.name;
        if (status(where) != api::StatusCode::Stopped) return true;
        auto power = i.config.find("volatile.last_state.power");
        if (power != i.config.end() && power->second == "RUNNING") powered_off.emplace_back(project_id, i.name);
        return false;
    });
    daemon_.with_db([&](db::Database& db) {
        for (const auto& [project_id, name] : powered_off)
            if (auto id = db::instance_id(db, project_id, name))
                db::set_instance_config(db, *id, "volatile.last_state.power", "STOPPED");
    });
    // Instances of one priority stop together; the next priority waits for them.
    for (auto group = running.begin(); group != running.end();) {
        auto end = std::find_if(group, running.end(), [&](const auto& e) { return e.priority != group->priority; });
        std::vector<std::future<void>> stops;
        for (auto it = group; it != end; ++it) {
            stops.push_back(std::async(std::launch::async, [this, e = *it] {
                try {
                    const auto where = locate(e.project_id, e.name);
                    auto lock = lock_for(e.name);
                    std::lock_guard guard(*lock);
                    const int timeout_ms = static_cast<int>(std::max<long>(0, e.timeout_s) * 1000);
                    runtime::stop_container(run_dir_, where.runtime_name, timeout_ms, false);
                    // Stopped by the host, not by its admin: it comes back
                    // at the next boot unless boot.autostart says otherwise.
                    daemon_.with_db([&](db::Database& db) {
                        db::set_instance_config(db, where.id, "volatile.last_state.power", "RUNNING");
                    });
                    daemon_.events().lifecycle("instance-shutdown", "/1.0/instances/" + e.name);
                    spdlog::info("instance {}: stopped for the host's shutdown", e.name);
                } catch (const std::exception& ex) {
                    spdlog::error("instance {}: stopping for the host's shutdown: {}", e.name, ex.what());
                }
            }));
        }
        for (auto& s : stops) s.get();
        group = end;
    }
}

} // namespace lodge::daemon
