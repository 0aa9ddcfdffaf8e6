// What the kernel says about a running container, read from the host side
// and trusting nothing from inside it: init's id maps, capability sets,
// seccomp state and filter, namespaces, and the cgroup limits in force.
// `lodge audit` compares this with what the configuration asks for.
#pragma once

#include "runtime/cgroup.hpp"
#include "runtime/idmap.hpp"

#include <sys/types.h>

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace lodge::runtime {

// Capability names as SecurityPolicy writes them: lower case, no "cap_"
// prefix; a bit libcap has no name for reads as its number.
struct CapabilitySets {
    std::vector<std::string> bounding, effective, permitted, inheritable, ambient;
};

// Whether init's seccomp filter is the program the runtime compiled for it
// (<run dir>/<name>/seccomp.bpf).
enum class FilterMatch {
    match,    // init's oldest filter is byte for byte that program
    mismatch, // it is another program, or init has no filter
    unknown,  // could not be read: see filter_detail
};

// One line of /proc/PID/cgroup: which hierarchy ("" for cgroup2,
// "cpu,cpuacct", "name=systemd") and init's cgroup in it, as the host sees it.
struct CgroupMembership {
    std::string controllers;
    std::string path;
};

struct KernelState {
    std::string name;
    pid_t init_pid = -1;
    std::string status; // "running" or "frozen", as the monitor says

    IdMap idmap; // /proc/PID/uid_map and gid_map

    CapabilitySets caps;
    // The policy's caps_drop (config.json in the run directory) that are
    // still in init's bounding set: empty when the policy holds.
    std::vector<std::string> dropped_caps_present;

    int seccomp_mode = 0;     // /proc/PID/status Seccomp: 0 off, 1 strict, 2 filter
    int seccomp_filters = -1; // Seccomp_filters (Linux 5.9+); -1 when the kernel does not say
    bool no_new_privs = false;
    FilterMatch filter = FilterMatch::unknown;
    std::string filter_detail; // why unknown or mismatch; empty on a match

    Limits limits; // Cgroup::read_limits()
    std::vector<std::string> cgroup_paths; // the container's cgroup directories
    std::vector<CgroupMembership> init_cgroups;

    // init's namespace differs from this process's (the host's, for lodged).
    bool cgroup_namespace_private = false;
    bool user_namespace_private = false;
};

// Reads the kernel state of running container `name` (its monitor answers
// under run_dir). Error(404) when it does not run. The pid comes from the
// monitor with init's pidfd, and the pidfd is checked to be alive after
// the reads, so a pid reused meanwhile is never reported on.
//
// The filter is fetched with ptrace(PTRACE_SECCOMP_GET_FILTER): the calling
// thread attaches to init (PTRACE_SEIZE), stops it (PTRACE_INTERRUPT) for
// the few reads, and detaches, re-delivering any signal that arrived
// meanwhile. It needs CAP_SYS_ADMIN in the host's user namespace and a
// caller not itself under seccomp. Anything that prevents the reading gives
// filter = unknown with the reason, never an error: init traced by someone
// else (a debugger), a frozen container (a frozen task cannot reach a
// ptrace stop), a kernel without CONFIG_CHECKPOINT_RESTORE. While attached,
// init's stop is reported to this process through waitpid: no other thread
// of the caller may wait for any child (waitpid(-1)) during the call.
KernelState inspect_container(const std::string& run_dir, const std::string& name);

const char* to_string(FilterMatch m);

// {"name", "init_pid", "status", "idmap": {"uids": [...], "gids": [...]},
//  "capabilities": {"bounding": [...], ...}, "dropped_caps_present": [...],
//  "seccomp": {"mode", "filters" (null when unknown), "no_new_privs",
//              "filter": "match"|"mismatch"|"unknown", "filter_detail"},
//  "cgroup": {"paths": [...], "init": [{"controllers", "path"}], "limits": {...}},
//  "namespaces": {"cgroup_private", "user_private"}}
void to_json(nlohmann::json& j, const KernelState& s);

// ---- the parsing, exposed for unit tests ----

// Parses /proc/PID/uid_map text ("inside outside count" lines).
std::vector<IdRange> parse_id_map(const std::string& text);
// The names of the bits in a capability mask (CapBnd's hex value).
std::vector<std::string> capability_names(uint64_t mask);
// The value of "Key:\tvalue" in /proc/PID/status text; "" when absent.
std::string status_field(const std::string& status, const std::string& key);

} // namespace lodge::runtime
