// Value forms of config keys shared by the schema (which checks them) and
// the translation to the runtime's config (which uses them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon {

inline bool truthy(const std::string& v) { return v == "true" || v == "1"; }

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

} // namespace lodge::daemon
