// Id maps from config: raw.idmap pass-through entries, isolated ranges
// allocated from root's subordinate ids, and LXD's volatile.idmap.current form.
#include "common/error.hpp"
#include "profiles/values.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace lodge::profiles {

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

} // namespace lodge::profiles

namespace lodge::profiles {

namespace {

bool overlaps(uint32_t a, uint32_t an, uint32_t b, uint32_t bn) {
    return uint64_t(a) < uint64_t(b) + bn && uint64_t(b) < uint64_t(a) + an;
}

// Ranges in the container's id space are split around each raw entry, and
// the entry maps its host ids in their place.
std::vector<runtime::IdRange> punch(std::vector<runtime::IdRange> ranges, const RawIdmapEntry& e, const char* kind) {
    for (const auto& r : ranges)
        if (overlaps(r.host, r.count, e.host, e.count))
            throw Error(400, std::string("raw.idmap: host ") + kind + " " + std::to_string(e.host) +
                                 " lies inside the instance's own range; map an id outside it");
    std::vector<runtime::IdRange> out;
    for (const auto& r : ranges) {
        if (!overlaps(r.container, r.count, e.container, e.count)) {
            out.push_back(r);
            continue;
        }
        if (r.container < e.container) out.push_back({r.container, r.host, e.container - r.container});
        const uint64_t r_end = uint64_t(r.container) + r.count, e_end = uint64_t(e.container) + e.count;
        if (r_end > e_end) {
            const auto skip = static_cast<uint32_t>(e_end - r.container);
            out.push_back({static_cast<uint32_t>(e_end), r.host + skip, static_cast<uint32_t>(r_end - e_end)});
        }
    }
    out.push_back({e.container, e.host, e.count});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.container < b.container; });
    return out;
}

std::vector<runtime::SubIdEntry> root_entries(const std::string& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<runtime::SubIdEntry> out;
    for (const auto& e : runtime::parse_subid(text.str()))
        if (e.owner == "root" || e.owner == "0") out.push_back(e);
    return out;
}

} // namespace

runtime::IdMap instance_idmap(const api::ConfigMap& c, const std::string& etc) {
    const auto size_text = value_of(c, "security.idmap.size");
    const uint32_t size = size_text.empty() ? runtime::default_idmap_size : static_cast<uint32_t>(std::stoul(size_text));
    runtime::IdMap map;
    if (const auto base = value_of(c, "volatile.idmap.base");
        !base.empty() && base != "0" && truthy(value_of(c, "security.idmap.isolated"))) {
        const auto host = static_cast<uint32_t>(std::stoul(base));
        map.uids.push_back({0, host, size});
        map.gids.push_back({0, host, size});
    } else {
        map = runtime::root_idmap(size, etc);
    }
    for (const auto& e : parse_raw_idmap(value_of(c, "raw.idmap"))) {
        if (e.uid) map.uids = punch(map.uids, e, "uid");
        if (e.gid) map.gids = punch(map.gids, e, "gid");
    }
    return map;
}

uint32_t allocate_isolated_base(uint32_t size, const std::vector<IdBlock>& taken, const std::string& etc) {
    const auto gids = root_entries(etc + "/subgid");
    for (const auto& range : root_entries(etc + "/subuid")) {
        // Only ids root holds in both files can back a map for both.
        const bool in_gids = std::any_of(gids.begin(), gids.end(), [&](const auto& g) {
            return g.start <= range.start && uint64_t(g.start) + g.count >= uint64_t(range.start) + range.count;
        });
        if (!in_gids) continue;
        uint64_t candidate = range.start;
        const uint64_t end = uint64_t(range.start) + range.count;
        bool moved = true;
        while (moved && candidate + size <= end) {
            moved = false;
            for (const auto& t : taken)
                if (overlaps(static_cast<uint32_t>(candidate), size, t.host, t.count)) {
                    candidate = uint64_t(t.host) + t.count;
                    moved = true;
                }
        }
        if (candidate + size <= end) return static_cast<uint32_t>(candidate);
    }
    throw Error(507, "No free range of " + std::to_string(size) + " ids for an isolated instance in root's entries of " +
                         etc + "/subuid and " + etc + "/subgid; give root a larger range (e.g. root:1000000:1000000000)");
}

std::string idmap_json(const runtime::IdMap& map) {
    nlohmann::json out = nlohmann::json::array();
    for (bool uid : {true, false})
        for (const auto& r : uid ? map.uids : map.gids)
            out.push_back({{"Isuid", uid}, {"Isgid", !uid}, {"Hostid", r.host}, {"Nsid", r.container}, {"Maprange", r.count}});
    return out.dump();
}

std::vector<IdBlock> idmap_blocks(const std::string& text) {
    std::vector<IdBlock> out;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& e : j)
        if (e.is_object() && e.value("Hostid", nlohmann::json()).is_number_unsigned() &&
            e.value("Maprange", nlohmann::json()).is_number_unsigned())
            out.push_back({e["Hostid"].get<uint32_t>(), e["Maprange"].get<uint32_t>()});
    return out;
}

} // namespace lodge::profiles
