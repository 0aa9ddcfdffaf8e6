// Private to the cgroup backends: pure parsing and conversion helpers (unit
// tested without root), the filesystem pieces v1 and v2 share, and the three
// Cgroup implementations behind open_cgroup().
#pragma once

#include "common/fd.hpp"
#include "runtime/cgroup.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lodge::runtime::cgroup_detail {

// ---- Pure helpers (cgroup.cpp) ----

// The fields of one /proc/self/mountinfo line that layout detection needs.
struct MountEntry {
    std::string device; // "major:minor": one per cgroup v1 hierarchy, shared by its bind mounts
    std::string root;
    std::string mount_point;
    std::string fstype;
    std::string super_options;
};

// Parses one mountinfo line (proc(5)); nullopt for a malformed line.
std::optional<MountEntry> parse_mountinfo_line(std::string_view line);
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// The v1 controllers (and "name=X" named hierarchies) in a cgroup mount's
// super options, without mount flags such as rw or xattr.
std::vector<std::string> v1_controllers(std::string_view super_options);

// A mounted v1 hierarchy: where, and which controllers are bound to it.
struct Hierarchy {
    std::string mount;
    std::vector<std::string> controllers;
    bool has(std::string_view controller) const;
};

// What the cgroup root holds: v1 hierarchies mounted directly below it, and
// the cgroup2 mount (the root itself on unified hosts, usually
// <root>/unified on hybrid ones).
struct Hierarchies {
    std::vector<Hierarchy> v1;
    std::optional<std::string> unified;
};

Hierarchies find_hierarchies(const std::vector<MountEntry>& mounts, const std::string& root,
                             bool root_is_cgroup2);
// Throws lodge::Error when the root holds no hierarchy at all.
CgroupLayout layout_of(const Hierarchies& h, const std::string& root);

// Rejects names that could leave the subtree ("..", "/", empty).
void validate_name(const std::string& name);
void validate_parent(const std::string& parent);
// Range checks that give a 400 before anything is written.
void validate_limits(const Limits& limits);

uint64_t v1_shares_from_weight(uint64_t weight);
// memory.memsw.limit_in_bytes for the limits; nullopt means unlimited (-1).
// Without a memory limit there is nothing for v1 to add swap to.
std::optional<uint64_t> v1_memsw_target(const Limits& limits);
// v1 insists that memory.limit_in_bytes <= memory.memsw.limit_in_bytes at
// every moment, so memsw goes first when the new memory limit exceeds the
// current memsw limit. nullopt stands for unlimited.
bool v1_memsw_first(std::optional<uint64_t> new_memory, uint64_t current_memsw);
std::string v2_cpu_max(const Limits& limits);

// ---- reading limits back ----
// A limit file's value: nullopt for the kernel's "no limit" ("max", "-1",
// or v1 memory's 9223372036854771712, the largest page count in bytes).
std::optional<uint64_t> parse_limit(std::string_view text);
// The weight apply() would have written as these v1 shares (the inverse of
// v1_shares_from_weight for the shares it produces).
uint64_t weight_from_v1_shares(uint64_t shares);
// cpu.max ("QUOTA PERIOD", QUOTA may be "max"); nullopt when malformed.
std::optional<std::pair<std::optional<uint64_t>, uint64_t>> parse_cpu_max(std::string_view text);
// Normalises what was read: the default weight reads as unset.
Limits without_defaults(Limits limits);

// The controllers each group of Limits fields needs.
inline constexpr std::string_view controllers_used[] = {"memory", "cpu", "cpuset", "pids"};
using HasController = std::function<bool(std::string_view)>;
// Throws Error 400 naming the controller when a limit is set whose
// controller the host does not provide, before anything is written.
void require_controllers(const Limits& limits, const HasController& has);
// Splits limits into those whose controller `first` takes and the rest.
std::pair<Limits, Limits> split_limits(const Limits& limits, const HasController& first);
// The reverse: each controller's fields from `first` where from_first(c),
// else from `second` (the hybrid layout's v1 and v2 halves).
Limits merge_limits(const Limits& first, const Limits& second, const HasController& from_first);

// Value of "key N" in a flat-keyed file (memory.events, cpu.stat, oom_control).
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key);
// A number, trimmed; nullopt for "max" or anything else.
std::optional<uint64_t> parse_u64(std::string_view text);
std::string_view trim(std::string_view text);

// Usage figures a backend could read; the hybrid layout fills the gaps of
// one backend from the other.
struct UsageParts {
    std::optional<uint64_t> memory, memory_peak, cpu_ns, pids, oom_kills;
};
UsageParts merge_usage(const UsageParts& first, const UsageParts& second);
Usage to_usage(const UsageParts& parts);

// ---- Filesystem pieces shared by v1 and v2 (cgroup.cpp) ----

bool path_exists(const std::string& path);
// The file's contents, or nullopt when it does not exist.
std::optional<std::string> read_if_present(const std::string& path);
// Reads a number from a file; nullopt when the file does not exist (a
// controller or kernel feature that is not there).
std::optional<uint64_t> read_u64_if_present(const std::string& path);
std::optional<uint64_t> read_keyed_if_present(const std::string& path, std::string_view key);
// Throws SystemError(ENOENT) naming dir when it does not exist.
void require_dir(const std::string& dir);
// Writes a limit file. A reset to the default (set false) of a file this
// kernel lacks is skipped; a limit that was asked for is written or throws.
void write_limit(const std::string& path, const std::string& value, bool set);

// Polls done() with a growing sleep until it holds or limit passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit);

// Creates <mount>/<parent> (root-owned) and calls prepare on every directory
// of parent that needs it, top down; then creates <mount>/<parent>/<name>,
// throwing Error 409 when it exists. Returns the new directory.
std::string make_cgroup_dir(const std::string& mount, const std::string& parent, const std::string& name,
                            const std::function<void(const std::string&)>& prepare);
// Gives the container's root its directory and the files a delegatee writes.
void delegate_dir(const std::string& dir, uid_t uid, gid_t gid, bool unified);
void attach_pid(const std::string& dir, pid_t pid);
// Sends sig to every task in the subtrees of dirs, through pidfds so that a
// recycled pid never reaches an unrelated process.
void signal_tasks(const std::vector<std::string>& dirs, int sig);
// Waits (bounded) for the subtrees <mount>/<parent>/<name> to empty, removes
// them depth first, then removes <mount>/<parent> when nothing else is in it.
void remove_cgroups(const std::vector<std::string>& mounts, const std::string& parent,
                    const std::string& name);

// ---- Backends ----

// v1: one directory per mounted hierarchy (cgroup_v1.cpp).
class CgroupV1 final : public Cgroup {
public:
    CgroupV1(std::vector<Hierarchy> hierarchies, std::string parent, std::string name);
    void create(uid_t owner_uid, gid_t owner_gid) override;
    void apply(const Limits& limits) override;
    Limits read_limits() const override;
    void attach(pid_t pid) override;
    int unified_fd() const override { return -1; }
    Usage usage() const override { return to_usage(usage_parts()); }
    void freeze(bool frozen) override;
    bool frozen() const override;
    void kill_all(int sig) override;
    void destroy() override;
    bool exists() const override;
    std::vector<std::string> paths() const override;

    bool has_controller(std::string_view controller) const;
    UsageParts usage_parts() const;
    std::vector<std::string> mounts() const;
    const std::string& parent() const { return parent_; }
    const std::string& name() const { return name_; }

private:
    const Hierarchy* find(std::string_view controller) const;
    std::string dir_of(const Hierarchy& h) const;
    void apply_memory(const std::string& dir, const Limits& limits);
    void apply_cpu(const std::string& dir, const Limits& limits);

    std::vector<Hierarchy> hierarchies_;
    std::string parent_, name_;
};

// v2: the unified hierarchy (cgroup_v2.cpp).
class CgroupV2 final : public Cgroup {
public:
    CgroupV2(std::string mount, std::string parent, std::string name);
    void create(uid_t owner_uid, gid_t owner_gid) override;
    void apply(const Limits& limits) override;
    Limits read_limits() const override;
    void attach(pid_t pid) override { attach_pid(dir_, pid); }
    int unified_fd() const override;
    Usage usage() const override { return to_usage(usage_parts()); }
    void freeze(bool frozen) override;
    bool frozen() const override;
    void kill_all(int sig) override;
    void destroy() override;
    bool exists() const override { return path_exists(dir_); }
    std::vector<std::string> paths() const override { return {dir_}; }

    // Controllers enabled for the container's cgroup (its cgroup.controllers).
    bool has_controller(std::string_view controller) const;
    UsageParts usage_parts() const;
    const std::string& mount() const { return mount_; }
    const std::string& dir() const { return dir_; }
    void close_fd() { fd_.reset(); }

private:
    std::string mount_, parent_, name_, dir_;
    mutable UniqueFd fd_; // opened on first use of unified_fd()
};

// Hybrid: v1 for the controllers it has, v2 for membership and
// CLONE_INTO_CGROUP (cgroup.cpp).
class HybridCgroup final : public Cgroup {
public:
    HybridCgroup(CgroupV1 v1, CgroupV2 v2) : v1_(std::move(v1)), v2_(std::move(v2)) {}
    void create(uid_t owner_uid, gid_t owner_gid) override;
    void apply(const Limits& limits) override;
    Limits read_limits() const override;
    void attach(pid_t pid) override;
    int unified_fd() const override { return v2_.unified_fd(); }
    Usage usage() const override;
    void freeze(bool frozen) override;
    bool frozen() const override;
    void kill_all(int sig) override;
    void destroy() override;
    bool exists() const override { return v1_.exists() || v2_.exists(); }
    std::vector<std::string> paths() const override;

private:
    CgroupV1 v1_;
    CgroupV2 v2_;
};

} // namespace lodge::runtime::cgroup_detail
