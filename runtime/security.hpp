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
    // Syscalls answered with EPERM, by name as libseccomp knows them.
    std::vector<std::string> syscalls_deny;
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
    // name is unknown, so bad policy is refused before a container starts.
    void validate() const;
};

void to_json(nlohmann::json& j, const SecurityPolicy& p);
void from_json(const nlohmann::json& j, SecurityPolicy& p);

// Drops policy.caps_drop from the calling thread's bounding set (needs
// CAP_SETPCAP in the current user namespace). Throws lodge::Error.
void drop_bounding_caps(const SecurityPolicy& policy);

// The capability numbers of policy.caps_drop (for processes that drop them
// without libcap). Throws lodge::Error(400) for an unknown name.
std::vector<int> cap_numbers(const SecurityPolicy& policy);

// Builds the seccomp filter for policy: native x86_64 plus the x32 and i386
// ABIs, so a denied call cannot be reached through another ABI. reboot(2)
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
