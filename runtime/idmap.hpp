// User-namespace id maps: the host range from /etc/subuid and /etc/subgid
// that a container's ids 0..size-1 map onto.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lodge::runtime {

struct IdRange {
    uint32_t container = 0; // first id inside
    uint32_t host = 0;      // first id on the host
    uint32_t count = 0;
};

struct IdMap {
    std::vector<IdRange> uids;
    std::vector<IdRange> gids;

    // Host id of container id `id`, or -1 when unmapped.
    int64_t host_uid(uint32_t id) const;
    int64_t host_gid(uint32_t id) const;
    // The /proc/PID/uid_map (gid_map) text.
    std::string uid_map_text() const;
    std::string gid_map_text() const;
};

void to_json(nlohmann::json& j, const IdMap& m);
void from_json(const nlohmann::json& j, IdMap& m);

// One entry of /etc/subuid or /etc/subgid.
struct SubIdEntry {
    std::string owner;
    uint32_t start = 0;
    uint32_t count = 0;
};

std::vector<SubIdEntry> parse_subid(const std::string& text);

constexpr uint32_t default_idmap_base = 1000000;
constexpr uint32_t default_idmap_size = 65536;

// The map for root's containers: container 0..size-1 onto the first range
// of root's entries in /etc/subuid and /etc/subgid that holds `size` ids.
// When root has no such range, one starting at default_idmap_base is added
// to both files (as LXD does on first start). `etc` is the directory
// holding subuid/subgid (tests point it elsewhere).
IdMap root_idmap(uint32_t size = default_idmap_size, const std::string& etc = "/etc");

// Writes uid_map, gid_map (and leaves setgroups allowed) for pid.
void write_idmap(pid_t pid, const IdMap& map);

} // namespace lodge::runtime
