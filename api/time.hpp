// Timestamps as LXD writes them: Go's RFC 3339 with nanoseconds, trailing
// zeros of the fraction dropped, always UTC ("2026-11-24T01:21:44.80117616Z").
// Go's zero time ("0001-01-01T00:00:00Z", LXD's "never", e.g. last_used_at)
// is outside what int64 nanoseconds can hold; it maps to Time{} (the epoch),
// which no real event carries.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace lodge::api {

using Clock = std::chrono::system_clock;
using Time = std::chrono::time_point<Clock, std::chrono::nanoseconds>;

inline constexpr const char* zero_time = "0001-01-01T00:00:00Z";

inline std::string format_time(Time t) {
    if (t == Time{}) return zero_time;
    auto ns = t.time_since_epoch().count();
    auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
    auto frac = ns % 1'000'000'000;
    if (frac < 0) { // before 1970: floor the seconds, keep the fraction positive
        frac += 1'000'000'000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string out = buf;
    if (frac != 0) {
        char f[16];
        std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
        std::string fs = f;
        while (fs.back() == '0') fs.pop_back();
        out += fs;
    }
    return out + "Z";
}

inline Time now() { return std::chrono::time_point_cast<std::chrono::nanoseconds>(Clock::now()); }

// Parses what format_time writes (and the same with any fraction length);
// returns false on anything else.
inline bool parse_time(const std::string& s, Time& out) {
    if (s == zero_time) {
        out = Time{};
        return true;
    }
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long frac = 0;
    size_t i = static_cast<size_t>(consumed);
    if (i < s.size() && s[i] == '.') {
        int digits = 0;
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits)
            if (digits < 9) frac = frac * 10 + (s[i] - '0');
        if (digits == 0) return false;
        for (; digits < 9; ++digits) frac *= 10;
    }
    if (i + 1 != s.size() || s[i] != 'Z') return false;
    long long secs = ::timegm(&tm);
    // Beyond int64 nanoseconds (years before 1678 or after 2261).
    if (secs < -9'223'372'036LL || secs > 9'223'372'035LL) return false;
    out = Time(std::chrono::nanoseconds(secs * 1'000'000'000LL + frac));
    return true;
}

} // namespace lodge::api
