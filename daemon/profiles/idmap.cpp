// Id maps from config: raw.idmap's pass-through entries.
#include "common/error.hpp"
#include "daemon/profiles/values.hpp"

#include <charconv>
#include <sstream>

namespace lodge::daemon {

namespace {

// "1000" or "1000-1009" as (first, count).
std::pair<uint32_t, uint32_t> id_range(const std::string& text, const std::string& line) {
    auto number = [&](std::string_view s) {
        uint32_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty())
            throw Error(400, "raw.idmap: \"" + line + "\": \"" + std::string(s) + "\" is not an id");
        return v;
    };
    const auto dash = text.find('-');
    if (dash == std::string::npos) return {number(text), 1};
    const auto first = number(std::string_view(text).substr(0, dash));
    const auto last = number(std::string_view(text).substr(dash + 1));
    if (last < first) throw Error(400, "raw.idmap: \"" + line + "\": the range ends before it starts");
    return {first, last - first + 1};
}

} // namespace

std::vector<RawIdmapEntry> parse_raw_idmap(const std::string& value) {
    std::vector<RawIdmapEntry> out;
    std::istringstream in(value);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string kind, host, container, extra;
        if (!(words >> kind)) continue;
        if (!(words >> host >> container) || (words >> extra))
            throw Error(400, "raw.idmap: \"" + line + "\": expected uid|gid|both HOST CONTAINER");
        RawIdmapEntry e;
        if (kind == "uid" || kind == "both") e.uid = true;
        if (kind == "gid" || kind == "both") e.gid = true;
        if (!e.uid && !e.gid) throw Error(400, "raw.idmap: \"" + line + "\": expected uid, gid or both");
        const auto [h, hn] = id_range(host, line);
        const auto [c, cn] = id_range(container, line);
        if (hn != cn) throw Error(400, "raw.idmap: \"" + line + "\": the host and container ranges differ in size");
        e.host = h;
        e.container = c;
        e.count = hn;
        out.push_back(e);
    }
    return out;
}

} // namespace lodge::daemon
