// snapshots.schedule: cron expressions as LXD takes them ("0 6 * * *",
// "@daily", several joined by ", "), and the task that takes scheduled
// snapshots and removes expired ones.
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lodge::daemon {

class Daemon;

class CronSchedule {
public:
    // Error(400) naming the bad part; "" parses to a schedule that never matches.
    static CronSchedule parse(const std::string& spec);
    // Whether the minute `t` (local time, seconds ignored) is scheduled.
    bool matches(const std::tm& t) const;

private:
    struct Entry {
        std::bitset<60> minutes;
        std::bitset<24> hours;
        std::bitset<32> days;   // 1-31
        std::bitset<13> months; // 1-12
        std::bitset<7> weekdays; // 0 = Sunday
        bool any_day = false, any_weekday = false;
    };
    std::vector<Entry> entries_;
};

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
