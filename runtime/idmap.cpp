#include "runtime/idmap.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lodge::runtime {

namespace {

int64_t lookup(const std::vector<IdRange>& ranges, uint32_t id) {
    for (const auto& r : ranges)
        if (id >= r.container && id - r.container < r.count) return int64_t(r.host) + (id - r.container);
    return -1;
}

std::string map_text(const std::vector<IdRange>& ranges) {
    std::string out;
    for (const auto& r : ranges)
        out += std::to_string(r.container) + " " + std::to_string(r.host) + " " + std::to_string(r.count) + "\n";
    return out;
}

// Finds root's range of at least `size` ids in the file, adding one at the
// default base when there is none.
uint32_t root_range(const std::string& path, uint32_t size) {
    std::string text = read_file_if_exists(path);
    for (const auto& e : parse_subid(text))
        if ((e.owner == "root" || e.owner == "0") && e.count >= size) return e.start;
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "root:" + std::to_string(default_idmap_base) + ":" + std::to_string(size) + "\n";
    write_file_atomic(path, text, 0644);
    return default_idmap_base;
}

} // namespace

int64_t IdMap::host_uid(uint32_t id) const { return lookup(uids, id); }
int64_t IdMap::host_gid(uint32_t id) const { return lookup(gids, id); }
std::string IdMap::uid_map_text() const { return map_text(uids); }
std::string IdMap::gid_map_text() const { return map_text(gids); }

void to_json(nlohmann::json& j, const IdMap& m) {
    auto ranges = [](const std::vector<IdRange>& rs) {
        auto a = nlohmann::json::array();
        for (const auto& r : rs) a.push_back({r.container, r.host, r.count});
        return a;
    };
    j = {{"uids", ranges(m.uids)}, {"gids", ranges(m.gids)}};
}

void from_json(const nlohmann::json& j, IdMap& m) {
    auto ranges = [](const nlohmann::json& a) {
        std::vector<IdRange> rs;
        for (const auto& r : a) rs.push_back({r.at(0).get<uint32_t>(), r.at(1).get<uint32_t>(), r.at(2).get<uint32_t>()});
        return rs;
    };
    m.uids = ranges(j.at("uids"));
    m.gids = ranges(j.at("gids"));
}

std::vector<SubIdEntry> parse_subid(const std::string& text) {
    std::vector<SubIdEntry> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        try {
            unsigned long start = std::stoul(line.substr(a + 1, b - a - 1));
            unsigned long count = std::stoul(line.substr(b + 1));
            if (start > UINT32_MAX || count > UINT32_MAX || count == 0) continue;
            out.push_back({line.substr(0, a), uint32_t(start), uint32_t(count)});
        } catch (const std::exception&) { // a malformed line is skipped, as shadow-utils does
        }
    }
    return out;
}

IdMap root_idmap(uint32_t size, const std::string& etc) {
    IdMap m;
    m.uids.push_back({0, root_range(etc + "/subuid", size), size});
    m.gids.push_back({0, root_range(etc + "/subgid", size), size});
    return m;
}

void write_idmap(pid_t pid, const IdMap& map) {
    std::string base = "/proc/" + std::to_string(pid) + "/";
    write_file(base + "uid_map", map.uid_map_text());
    write_file(base + "gid_map", map.gid_map_text());
}

} // namespace lodge::runtime
