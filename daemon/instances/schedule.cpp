// Cron parsing and the snapshot scheduler.
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

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

int parse_value(const std::string& text, int lo, int hi, const std::map<std::string, int>& names,
                const std::string& spec) {
    if (auto it = names.find(lower(text)); it != names.end()) return it->second;
    if (text.empty() || text.size() > 2 || !std::all_of(text.begin(), text.end(), ::isdigit))
        throw Error(400, "Invalid snapshots.schedule \"" + spec + "\": \"" + text + "\" is not a number");
    const int v = std::stoi(text);
    if (v < lo || v > hi)
        throw Error(400, "Invalid snapshots.schedule \"" + spec + "\": " + text + " is outside " +
                             std::to_string(lo) + "-" + std::to_string(hi));
    return v;
}

// One field: "*", "*/n", "a", "a-b", "a-b/n", lists of these. Sets bits
// lo..hi; returns whether the field was "*".
template <size_t N>
bool parse_field(const std::string& field, int lo, int hi, std::bitset<N>& bits,
                 const std::map<std::string, int>& names, const std::string& spec) {
    std::stringstream items(field);
    std::string item;
    bool star = false;
    while (std::getline(items, item, ',')) {
        int step = 1;
        if (auto slash = item.find('/'); slash != std::string::npos) {
            step = parse_value(item.substr(slash + 1), 1, hi, {}, spec);
            item = item.substr(0, slash);
        }
        int from = lo, to = hi;
        if (item == "*") {
            star = star || step == 1;
        } else if (auto dash = item.find('-'); dash != std::string::npos) {
            from = parse_value(item.substr(0, dash), lo, hi, names, spec);
            to = parse_value(item.substr(dash + 1), lo, hi, names, spec);
            if (from > to) throw Error(400, "Invalid snapshots.schedule \"" + spec + "\": range " + item);
        } else {
            from = to = parse_value(item, lo, hi, names, spec);
            if (field.find('/') != std::string::npos) to = hi; // "5/15": from 5 on
        }
        for (int v = from; v <= to; v += step) bits.set(static_cast<size_t>(v));
    }
    return star;
}

} // namespace

CronSchedule CronSchedule::parse(const std::string& text) {
    static const std::map<std::string, int> months{{"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4},
                                                   {"may", 5}, {"jun", 6}, {"jul", 7}, {"aug", 8},
                                                   {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
    static const std::map<std::string, int> weekdays{{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                                     {"thu", 4}, {"fri", 5}, {"sat", 6}, {"7", 0}};
    static const std::map<std::string, std::string> aliases{
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"}};
    CronSchedule schedule;
    size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(", ", start);
        if (end == std::string::npos) end = text.size();
        std::string one = text.substr(start, end - start);
        start = end + 2;
        one.erase(0, one.find_first_not_of(" \t"));
        one.erase(one.find_last_not_of(" \t") + 1);
        if (one.empty()) continue;
        if (auto a = aliases.find(lower(one)); a != aliases.end()) one = a->second;
        if (one.front() == '@') throw Error(400, "Invalid snapshots.schedule \"" + text + "\": unknown " + one);
        std::istringstream in(one);
        std::vector<std::string> fields;
        for (std::string f; in >> f;) fields.push_back(f);
        if (fields.size() != 5)
            throw Error(400, "Invalid snapshots.schedule \"" + text + "\": a cron expression has five fields "
                             "(minute hour day month weekday)");
        Entry e;
        parse_field(fields[0], 0, 59, e.minutes, {}, text);
        parse_field(fields[1], 0, 23, e.hours, {}, text);
        e.any_day = parse_field(fields[2], 1, 31, e.days, {}, text);
        parse_field(fields[3], 1, 12, e.months, months, text);
        std::bitset<8> wd;
        e.any_weekday = parse_field(fields[4], 0, 7, wd, weekdays, text);
        for (int d = 0; d < 7; ++d) e.weekdays[static_cast<size_t>(d)] = wd[static_cast<size_t>(d)];
        if (wd[7]) e.weekdays[0] = true;
        schedule.entries_.push_back(e);
    }
    return schedule;
}

bool CronSchedule::matches(const std::tm& t) const {
    for (const auto& e : entries_) {
        if (!e.minutes[static_cast<size_t>(t.tm_min)] || !e.hours[static_cast<size_t>(t.tm_hour)] ||
            !e.months[static_cast<size_t>(t.tm_mon + 1)])
            continue;
        const bool day = e.days[static_cast<size_t>(t.tm_mday)], weekday = e.weekdays[static_cast<size_t>(t.tm_wday)];
        // cron's rule: with both restricted, either one will do.
        const bool ok = e.any_day && e.any_weekday ? true
                        : e.any_day               ? weekday
                        : e.any_weekday           ? day
                                                  : day || weekday;
        if (ok) return true;
    }
    return false;
}

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
                    if (CronSchedule::parse(it->second).matches(minute)) due.push_back({project_id, instance.name});
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
