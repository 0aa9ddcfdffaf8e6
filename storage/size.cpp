// Parsing and printing LXD-style sizes.
#include "storage/size.hpp"

#include "common/error.hpp"

#include <cctype>
#include <cmath>
#include <utility>

namespace lodge::storage {

std::uint64_t parse_size(const std::string& text) {
    static const std::pair<const char*, double> units[] = {
        {"B", 1},         {"kB", 1e3},         {"KB", 1e3},         {"MB", 1e6},         {"GB", 1e9},
        {"TB", 1e12},     {"PB", 1e15},        {"EB", 1e18},        {"KiB", 0x1p10},     {"MiB", 0x1p20},
        {"GiB", 0x1p30},  {"TiB", 0x1p40},     {"PiB", 0x1p50},     {"EiB", 0x1p60},
    };
    const auto invalid = [&] { return Error(400, "invalid size '" + text + "': expected a number and a unit such as 10GiB"); };
    size_t pos = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == 0) throw invalid();
    size_t digits_end = pos;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
        if (pos == digits_end + 1) throw invalid();
    }
    const std::string number = text.substr(0, pos);
    std::string unit = text.substr(pos);
    if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    double factor = unit.empty() ? 1 : 0;
    for (const auto& [name, value] : units)
        if (unit == name) factor = value;
    if (factor == 0) throw invalid();
    if (number.find('.') == std::string::npos && factor == 1) {
        // Plain byte counts stay exact beyond a double's 53 bits.
        std::uint64_t v = 0;
        for (char c : number) {
            if (v > (UINT64_MAX - static_cast<std::uint64_t>(c - '0')) / 10) throw invalid();
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return v;
    }
    const double bytes = std::stod(number) * factor;
    if (!(bytes < 0x1p64)) throw invalid();
    return static_cast<std::uint64_t>(std::round(bytes));
}

std::string format_size(std::uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int unit = 0;
    while (unit < 6 && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++unit;
    }
    return std::to_string(bytes) + units[unit];
}

} // namespace lodge::storage
