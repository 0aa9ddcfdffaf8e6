// The device cgroup of a container: which device nodes its processes may
// open (read, write) and create (mknod). Everything is denied except the
// standard nodes the runtime puts in /dev and the nodes of the container's
// config. Enforced through the v1 devices controller (devices.deny /
// devices.allow) where it is mounted, and through a BPF_PROG_TYPE_CGROUP_DEVICE
// program on the unified (v2) directory where there is one; hybrid hosts get
// both, and the kernel refuses an access when either refuses it.
//
// The v2 program is recorded in the run directory (devices.json: the rules,
// the program's id and tag), so that hot-plug replaces exactly lodge's
// program and audit can tell it is still the one attached.
#pragma once

#include "runtime/config.hpp"

#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lodge::runtime {

// One rule, in the v1 devices controller's terms: "c 1:3 rwm".
struct DeviceRule {
    char type = 'c';      // 'c', 'b' or 'a' (any type, any numbers)
    int64_t major = -1;   // -1: any ('*')
    int64_t minor = -1;   // -1: any ('*')
    std::string access = "rwm"; // a subset of "rwm"

    bool operator==(const DeviceRule&) const = default;
};

// "c 1:3 rwm", "c 136:* rwm", "a *:* rwm" — devices.allow's syntax.
std::string to_string(const DeviceRule& rule);
// The inverse; also accepts devices.list lines. Throws lodge::Error(400).
DeviceRule parse_device_rule(const std::string& text);

// What every container may use: /dev/null, zero, full, random, urandom,
// tty, console, ptmx (devpts' own, 5:2) and the pts slaves (136:*), all rwm.
std::vector<DeviceRule> standard_device_rules();
// The standard rules followed by one rwm rule per node of cfg.devices.
std::vector<DeviceRule> device_rules(const ContainerConfig& cfg);

// The eBPF instructions of a BPF_PROG_TYPE_CGROUP_DEVICE program that
// allows exactly `rules` (returns 1 for an access a rule covers, else 0).
// Exposed for the unit tests, which run it through a small interpreter.
std::vector<struct bpf_insn> compile_device_program(const std::vector<DeviceRule>& rules);

// The v2 program lodge attached (id 0: none).
struct DeviceProgram {
    uint32_t id = 0;
    std::string tag; // the kernel's tag, hex
};

// Sets up the device cgroup of a container whose cgroup directories are
// `cgroup_dirs` (Cgroup::paths()), before any process runs in it: v1
// directories of the devices hierarchy get "a" denied, then one allow line
// per rule; the unified directory gets a program allowing the rules
// (attached with BPF_F_ALLOW_MULTI, so a guest's own programs below it only
// restrict further). Throws lodge::Error when the host offers neither (no
// device control would mean host disks and /dev/mem for a privileged root).
// Nothing is undone on failure: the caller removes the cgroup, which takes
// the rules and the program with it.
DeviceProgram setup_device_cgroup(const std::vector<std::string>& cgroup_dirs, const std::vector<DeviceRule>& rules);

// Changes the rules of a running container from `old_rules` to `new_rules`:
// v1 allow lines for added rules, deny lines for withdrawn ones (then the
// remaining rules are allowed again, as a deny may clear an overlapping
// allow); on v2 a new program atomically replaces `old_program`
// (BPF_F_REPLACE), or is attached beside whatever is there when old_program
// is gone. Returns the program now attached. Throws lodge::Error; the v1
// files may then be half-written, and a caller undoes by calling it again
// with the arguments swapped.
DeviceProgram update_device_cgroup(const std::vector<std::string>& cgroup_dirs,
                                   const std::vector<DeviceRule>& old_rules, const std::vector<DeviceRule>& new_rules,
                                   const DeviceProgram& old_program);

// The record in a container's run directory (<dir>/devices.json).
struct DeviceRecord {
    std::vector<DeviceRule> rules;
    DeviceProgram program;
};
void write_device_record(const std::string& container_dir, const DeviceRecord& record);
// Error(404) when there is no record.
DeviceRecord read_device_record(const std::string& container_dir);

// The device cgroup of a running container as the kernel has it, for audit.
struct DeviceCgroupState {
    std::vector<std::string> expected;             // the rules lodge applied (from the record)
    std::optional<std::vector<std::string>> v1;    // devices.list; nullopt without a v1 devices controller
    bool has_v2 = false;                           // the host has a unified directory for it
    uint32_t v2_expected = 0;                      // lodge's program id (from the record)
    std::vector<uint32_t> v2_attached;             // ids of the programs attached to the unified directory
    bool v2_intact = false;                        // lodge's program is attached, with the recorded tag
};

// Reads devices.list (v1) and queries the programs attached to the unified
// directory (BPF_PROG_QUERY, v2) of container `name`, whose cgroup directories
// are listed in the run directory. Error(404) when it does not run.
DeviceCgroupState read_device_cgroup(const std::string& run_dir, const std::string& name);

// The rules in force, one "c 1:3 rwm" a line: v1's devices.list where the
// devices controller is mounted, else the recorded rules of lodge's v2
// program. Throws Error(409) when lodge's v2 program is no longer the one
// attached (someone detached or replaced it): the recorded rules would then
// not be the truth.
std::vector<std::string> allowed_devices(const std::string& run_dir, const std::string& name);

} // namespace lodge::runtime
