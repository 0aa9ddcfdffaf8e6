// Value forms of config keys shared by the schema (which checks them) and
// the translation to the runtime's config (which uses them).
#pragma once

#include "api/profile.hpp"
#include "runtime/idmap.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lodge::profiles {

inline bool truthy(const std::string& v) { return v == "true" || v == "1"; }

// A config or device key's value, "" when it is not set.
inline std::string value_of(const std::map<std::string, std::string>& c, const std::string& key) {
    auto it = c.find(key);
    return it == c.end() ? std::string() : it->second;
}

// limits.cpu: a count ("2": the first two cpus) or a set ("0-1,3"), as the
// cpuset it means. Error(400) naming the key otherwise.
std::string cpuset_from(const std::string& value);

// limits.cpu.allowance: "50%" (a weight under contention) or "25ms/100ms"
// (a hard quota per period).
struct CpuAllowance {
    std::optional<uint64_t> weight;
    std::optional<uint64_t> quota_us;
    uint64_t period_us = 100000;
};
CpuAllowance parse_allowance(const std::string& value);

// limits.memory: bytes ("512MiB") or a percentage of the host's memory.
uint64_t memory_bytes(const std::string& value);

// raw.idmap: lines of "uid|gid|both HOST[-HOST] CONTAINER[-CONTAINER]",
// host ids mapped through to container ids. Error(400) naming the line.
struct RawIdmapEntry {
    bool uid = false, gid = false;
    uint32_t host = 0, container = 0, count = 1;
};
std::vector<RawIdmapEntry> parse_raw_idmap(const std::string& value);

// A block of host ids an instance's map uses.
struct IdBlock {
    uint32_t host = 0;
    uint32_t count = 0;
};

// The id map an instance runs with, from its expanded config: ids
// 0..security.idmap.size-1 onto volatile.idmap.base when lodged has given
// it one (isolated instances), else onto root's shared range from
// /etc/subuid and /etc/subgid; raw.idmap's host ids mapped through on top.
// Error(400) when a raw.idmap entry collides with the base range.
runtime::IdMap instance_idmap(const api::ConfigMap& expanded, const std::string& etc = "/etc");

// A host base for an isolated instance of `size` ids: the first block
// inside one of root's ranges (present in both subuid and subgid) that
// overlaps none of `taken`. Error(507) naming the files when none is free.
uint32_t allocate_isolated_base(uint32_t size, const std::vector<IdBlock>& taken, const std::string& etc = "/etc");

// volatile.idmap.current as LXD writes it
// ([{"Isuid":true,"Isgid":false,"Hostid":…,"Nsid":0,"Maprange":…}, …]),
// and the host blocks such a value uses (empty for unreadable text).
std::string idmap_json(const runtime::IdMap& map);
std::vector<IdBlock> idmap_blocks(const std::string& json);

} // namespace lodge::profiles
