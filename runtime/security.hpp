// The security policy applied to every process of a container (init and
// everything exec'd into it): a seccomp filter and a capability bounding set.
// It is data: the runtime's defaults below, which profiles extend or
// tighten (security.syscalls.*, capability drops) without code changes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lodge::runtime {

struct SecurityPolicy {
    // Syscalls answered with EPERM, by name as libseccomp knows them. Not
    // used when syscalls_allow is set (validate() refuses both).
    std::vector<std::string> syscalls_deny;
    // When not empty the filter is an allow list (LXD's
    // security.syscalls.allow): these syscalls pass and every other one
    // fails with EPERM, on every ABI in the filter. The runtime adds what it
    // needs itself after the filter is loaded (runtime_allowed_syscalls()),
    // and reboot(2) still goes to the monitor. A guest needs far more than
    // that: the list must name everything its init and services call.
    std::vector<std::string> syscalls_allow;
    // Every syscall through the 32-bit ABIs (i386 via int $0x80, x32) fails
    // with EPERM (LXD's security.syscalls.deny_compat).
    bool deny_compat = false;
    // personality(2) only with PER_LINUX (0), PER_LINUX32 (8) or the query
    // 0xffffffff; any other persona (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE,
    // ...) fails with EPERM (lodge.security.personality=linux).
    bool restrict_personality = false;
    // umount2/umount with MNT_FORCE answered with EPERM.
    bool deny_forced_umount = true;
    // Capabilities dropped from the bounding set, by name without the CAP_
    // prefix, lower case ("sys_module").
    std::vector<std::string> caps_drop;

    // The runtime's defaults: deny kexec_load, kexec_file_load,
    // open_by_handle_at, init_module, finit_module, delete_module (and forced
    // umount); drop sys_module, sys_rawio, sys_time, mac_admin, mac_override.
    static SecurityPolicy defaults();

    // Throws lodge::Error(400) naming the entry when a syscall or capability
    // name is unknown, and when both syscalls_allow and syscalls_deny are
    // set (an allow list replaces the deny list: callers that start from
    // defaults() clear syscalls_deny), so bad policy is refused before a
    // container starts.
    void validate() const;
};

// What an allow-list filter lets through whatever the list says, because
// the runtime itself calls it after the filter is loaded: execve (init and
// every exec'd command are exec'd under the filter), sendmsg and close (init
// hands the reboot listener to the monitor), write (a failed exec reports
// why), exit and exit_group (a process must be able to end), rt_sigreturn
// (returning from a signal handler; without it a handled signal kills).
const std::vector<std::string>& runtime_allowed_syscalls();

void to_json(nlohmann::json& j, const SecurityPolicy& p);
void from_json(const nlohmann::json& j, SecurityPolicy& p);

// Drops policy.caps_drop from the calling thread's bounding set (needs
// CAP_SETPCAP in the current user namespace). Throws lodge::Error.
void drop_bounding_caps(const SecurityPolicy& policy);

// The capability numbers of policy.caps_drop (for processes that drop them
// without libcap). Throws lodge::Error(400) for an unknown name.
std::vector<int> cap_numbers(const SecurityPolicy& policy);

// Builds the seccomp filter for policy: native x86_64 plus the x32 and i386
// ABIs, so a denied call cannot be reached through another ABI (with
// deny_compat those two ABIs are left out of the filter and their calls get
// the filter's bad-architecture action, EPERM). reboot(2)
// is passed to a listener (SECCOMP_RET_USER_NOTIF): the container's pid
// namespace belongs to the host's user namespace, so the kernel would refuse
// it, and the monitor does what the kernel does for a pid namespace's
// reboot: it ends init and records halt or reboot. Processes whose filter
// has no listener (exec'd ones) get ENOSYS from a direct reboot(2); asking
// init to reboot works from anywhere. Returns a
// compiled BPF program (the raw sock_filter instructions) so that a process can build
// it before it forks and load it cheaply afterwards.
std::vector<unsigned char> compile_seccomp(const SecurityPolicy& policy);

// Loads a program made by compile_seccomp into the calling thread
// (seccomp(SECCOMP_SET_MODE_FILTER); needs no_new_privs or CAP_SYS_ADMIN in
// the current user namespace). Async-signal-safe apart from errors: returns
// 0 or -errno, never throws, so it can run between fork and exec. With
// listen, returns the notification listener's fd instead of 0.
int load_seccomp(const std::vector<unsigned char>& program, bool listen = false) noexcept;

// AppArmor is not on every host (not on ours): says once, on first call,
// whether it is available, and never fails on its absence.
bool apparmor_available();

} // namespace lodge::runtime
