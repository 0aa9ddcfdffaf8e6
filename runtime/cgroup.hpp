// A container's cgroup, on whichever layout the host has: v1 controllers
// (cgroup_v1.cpp), the unified v2 hierarchy (cgroup_v2.cpp), or both at once
// on hybrid hosts (v1 for resource control, v2 for membership).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lodge::runtime {

// Resource limits; an unset field means the kernel's default (no limit,
// weight 100, the parent's cpus), and apply() writes that default, so
// unsetting a field on a running container lifts the limit.
struct Limits {
    std::optional<uint64_t> memory_bytes;      // hard limit on memory
    std::optional<uint64_t> memory_swap_bytes; // limit on swap on top of memory (0: no swap)
    std::optional<uint64_t> cpu_weight;        // 1..10000, v2 semantics (100 = default); v1 shares = weight*1024/100
    std::optional<uint64_t> cpu_quota_us;      // with cpu_period_us: at most quota per period
    uint64_t cpu_period_us = 100000;
    std::optional<std::string> cpuset_cpus;    // "0-1", "0,2"
    std::optional<uint64_t> pids_max;

    bool operator==(const Limits&) const = default;
};

// Limits as JSON (the monitor's config.json, the daemon's audit): unset
// fields are absent.
void to_json(nlohmann::json& j, const Limits& l);
void from_json(const nlohmann::json& j, Limits& l);

// Figures read from the host side.
struct Usage {
    uint64_t memory_bytes = 0;   // current memory use (v1 memory.usage_in_bytes, v2 memory.current)
    uint64_t memory_peak_bytes = 0;
    uint64_t cpu_ns = 0;         // total cpu time (cpuacct.usage or cpu.stat usage_usec)
    uint64_t pids = 0;           // pids.current
    uint64_t oom_kills = 0;      // kills by the memory limit (memory.oom_control oom_kill / memory.events oom_kill)
};

enum class CgroupLayout { legacy, hybrid, unified };

// Detects the host's layout from /sys/fs/cgroup (statfs and mountinfo).
CgroupLayout detect_cgroup_layout();

class Cgroup {
public:
    virtual ~Cgroup() = default;

    // Creates the container's cgroup under the lodge subtree
    // (<hierarchy>/lodge/<name>) in every hierarchy, copies cpuset.cpus and
    // cpuset.mems down on v1, and delegates it: the directory and its
    // cgroup.procs, tasks, cgroup.subtree_control and cgroup.threads files are
    // chowned to owner_uid/owner_gid (the container's root on the host), so
    // systemd in the guest manages its own subtree. Throws lodge::Error if
    // the cgroup already exists (another container by that name).
    virtual void create(uid_t owner_uid, gid_t owner_gid) = 0;

    // Writes the limits; callable again on a running container. Every
    // field is written, unset ones as the kernel's default ("max", -1,
    // weight 100 / 1024 shares, the parent's cpus), so a limit that was
    // lifted goes away; on v1, swap is only limited together with memory.
    virtual void apply(const Limits& limits) = 0;

    // The limits in force now, read from the kernel's files (v1, v2 or
    // both), mapped back as apply() maps them forward: apply(x) then
    // read_limits() gives x, except that the kernel keeps memory in whole
    // pages (a limit reads back rounded down to 4 KiB) and normalises cpu
    // lists ("0,1" reads "0-1"), and a field set to its default (weight 100,
    // the parent's cpus) reads back as unset, which means the same. Fields
    // whose controller the host lacks are unset. Throws SystemError(ENOENT)
    // when the cgroup does not exist.
    virtual Limits read_limits() const = 0;

    // Moves pid into the cgroup in every hierarchy (writes cgroup.procs).
    virtual void attach(pid_t pid) = 0;

    // An O_PATH|O_DIRECTORY fd of the v2 directory for clone3's
    // CLONE_INTO_CGROUP, or -1 when the host has no v2 hierarchy. The
    // Cgroup owns the fd.
    virtual int unified_fd() const = 0;

    virtual Usage usage() const = 0;

    // Freezes or thaws every task (freezer v1 / cgroup.freeze v2) and waits
    // until the state is reached.
    virtual void freeze(bool frozen) = 0;
    virtual bool frozen() const = 0;

    // Sends sig to every task in the cgroup (cgroup.kill on v2 where present).
    virtual void kill_all(int sig) = 0;

    // Removes the cgroup and any children the guest made, depth first,
    // waiting (bounded, about 2 s) for exiting tasks to leave. Also removes
    // the lodge parent directories when they are empty. Idempotent; does
    // not throw when the cgroup does not exist.
    virtual void destroy() = 0;

    // True when any hierarchy still has the cgroup directory.
    virtual bool exists() const = 0;

    // Host paths of the cgroup's directories, one per hierarchy (for logs,
    // tests and exec's cgroup join).
    virtual std::vector<std::string> paths() const = 0;
};

// True for a directory of a v1 hierarchy (v1 has a `tasks` file, v2 none);
// for code that is handed a Cgroup's paths() and must tell them apart.
inline bool is_v1_cgroup_dir(const std::string& dir) { return ::access((dir + "/tasks").c_str(), F_OK) == 0; }

// The cgroup of container `name` for this host's layout. `parent` is the
// subtree under each hierarchy's root ("lodge" by default; tests use their
// own). Opening does not create anything.
std::unique_ptr<Cgroup> open_cgroup(const std::string& name, const std::string& parent = "lodge");

// The cgroup root the layout exposes (default /sys/fs/cgroup); tests may
// override it with the LODGE_CGROUP_ROOT environment variable.
std::string cgroup_root();

} // namespace lodge::runtime
