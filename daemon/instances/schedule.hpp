// The task that takes the snapshots snapshots.schedule asks for
// (profiles/cron.hpp parses it) and removes expired ones.
#pragma once

#include "profiles/cron.hpp"

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lodge::daemon {

class Daemon;

// A thread in lodged: at each new minute it snapshots the instances whose
// schedule matches (running ones, and stopped ones with
// snapshots.schedule.stopped), every few seconds it deletes snapshots whose
// expiry has passed, and every hour expired backups.
class SnapshotScheduler {
public:
    explicit SnapshotScheduler(Daemon& daemon);
    ~SnapshotScheduler(); // stops and joins
    SnapshotScheduler(const SnapshotScheduler&) = delete;
    SnapshotScheduler& operator=(const SnapshotScheduler&) = delete;

private:
    void run();
    void snapshot_due(const std::tm& minute);
    void expire();

    Daemon& daemon_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point last_backup_prune_ = std::chrono::steady_clock::now();
    std::thread thread_;
};

} // namespace lodge::daemon
