// snapshots.schedule: cron expressions as LXD takes them ("0 6 * * *",
// "@daily", several joined by ", ").
#pragma once

#include <bitset>
#include <ctime>
#include <string>
#include <vector>

namespace lodge::profiles {

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

} // namespace lodge::profiles
