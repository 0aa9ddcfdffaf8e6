// The snapshot scheduler.
#include "daemon/instances/schedule.hpp"

#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <sstream>

namespace lodge::daemon {

SnapshotScheduler::SnapshotScheduler(Daemon& daemon) : daemon_(daemon), thread_([this] { run(); }) {}

SnapshotScheduler::~SnapshotScheduler() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void SnapshotScheduler::run() {
    using namespace std::chrono;
    auto last_minute = time_point_cast<minutes>(system_clock::now());
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, seconds(5), [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        try {
            const auto minute = time_point_cast<minutes>(system_clock::now());
            if (minute > last_minute) {
                last_minute = minute;
                const std::time_t t = system_clock::to_time_t(minute);
                std::tm local{};
                ::localtime_r(&t, &local);
                snapshot_due(local);
            }
            expire();
        } catch (const std::exception& e) {
            spdlog::error("snapshot scheduler: {}", e.what());
        }
        lock.lock();
    }
}

void SnapshotScheduler::snapshot_due(const std::tm& minute) {
    struct Due {
        std::int64_t project_id;
        std::string name;
    };
    std::vector<Due> due;
    daemon_.with_db([&](db::Database& db) {
        for (const auto& project : db::project_names(db)) {
            const auto project_id = *db::project_id(db, project);
            for (const auto& instance : db::all_instances(db, project_id)) {
                auto it = instance.expanded_config.find("snapshots.schedule");
                if (it == instance.expanded_config.end() || it->second.empty()) continue;
                try {
                    if (profiles::CronSchedule::parse(it->second).matches(minute)) due.push_back({project_id, instance.name});
                } catch (const std::exception& e) {
                    spdlog::warn("instance {}: {}", instance.name, e.what());
                }
            }
        }
    });
    for (const auto& d : due) {
        try {
            daemon_.instances().scheduled_snapshot(d.project_id, d.name);
        } catch (const std::exception& e) {
            spdlog::error("instance {}: scheduled snapshot: {}", d.name, e.what());
        }
    }
}

void SnapshotScheduler::expire() {
    // Expired backups go once an hour, as LXD's task removes them.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_backup_prune_ >= std::chrono::hours(1)) {
        last_backup_prune_ = now;
        for (const auto& path : daemon_.instances().prune_expired_backups())
            spdlog::info("removed backup {}, which expired", path);
    }
    const auto expired = daemon_.with_db([](db::Database& db) { return db::expired_instance_snapshots(db, api::now()); });
    for (const auto& e : expired) {
        try {
            daemon_.instances().expire_snapshot(e.project_id, e.instance, e.snapshot);
            spdlog::info("instance {}: removed snapshot {}, which expired", e.instance, e.snapshot);
        } catch (const std::exception& ex) {
            spdlog::error("instance {}: removing expired snapshot {}: {}", e.instance, e.snapshot, ex.what());
        }
    }
}

} // namespace lodge::daemon
