// Cron expressions: five fields with ranges, steps, lists and names, the
// @ aliases, several schedules joined by ", ".
#include "profiles/cron.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace lodge::profiles {

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

} // namespace lodge::profiles
