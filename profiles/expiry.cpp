// Expiry expressions: "30M", "1H", "2d 12H", added as Go's AddDate does.
#include "profiles/expiry.hpp"

#include "common/error.hpp"

#include <chrono>
#include <ctime>
#include <map>
#include <regex>

namespace lodge::profiles {

std::optional<api::Time> expiry_after(api::Time from, const std::string& expression) {
    auto first = expression.find_first_not_of(' ');
    if (first == std::string::npos) return std::nullopt;
    static const std::regex field(R"(^(\d{1,9})(S|M|H|d|w|m|y)$)");
    std::map<char, long> amount;
    std::size_t pos = first;
    const auto end = expression.find_last_not_of(' ') + 1;
    while (pos < end) {
        auto space = expression.find(' ', pos);
        if (space == std::string::npos || space > end) space = end;
        std::smatch m;
        const std::string part = expression.substr(pos, space - pos);
        if (!std::regex_match(part, m, field) || amount.count(m[2].str()[0]))
            throw Error(400, "Invalid expiry expression \"" + expression + "\": use e.g. \"30M\", \"1H\" or \"2d 12H\"");
        amount[m[2].str()[0]] = std::stol(m[1].str());
        pos = space + 1;
    }
    // Calendar units as Go's AddDate counts them, then the clock ones.
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(from.time_since_epoch());
    auto frac = from.time_since_epoch() - secs;
    std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    tm.tm_year += static_cast<int>(amount['y']);
    tm.tm_mon += static_cast<int>(amount['m']);
    tm.tm_mday += static_cast<int>(amount['d'] + 7 * amount['w']);
    std::time_t moved = ::timegm(&tm) + amount['H'] * 3600 + amount['M'] * 60 + amount['S'];
    return api::Time(std::chrono::seconds(moved)) + frac;
}

} // namespace lodge::profiles
