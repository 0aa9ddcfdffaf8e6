// The security policy as data: the runtime's default baseline, validation of
// a policy's names, and its JSON form (as profiles and the monitor's config
// carry it). Enforcement lives in seccomp.cpp and capabilities.cpp.
#include "runtime/security.hpp"

#include "common/error.hpp"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace lodge::runtime {

namespace detail {
// Defined beside the code that enforces them (seccomp.cpp, capabilities.cpp)
// because only libseccomp and libcap know which names exist; declared here
// rather than in security.hpp because nothing outside the runtime needs them.
void validate_syscall_names(const std::vector<std::string>& names, const char* field);
void validate_cap_names(const std::vector<std::string>& names);
} // namespace detail

namespace {

// The baseline every container gets before profiles add to it. Each entry is
// here because it lets a container's root reach the host kernel itself.
struct DefaultEntry {
    const char* name;
    const char* why;
};

constexpr DefaultEntry default_syscalls_deny[] = {
    {"kexec_load", "replaces the running kernel"},
    {"kexec_file_load", "replaces the running kernel"},
    {"open_by_handle_at", "opens any file on a mount by handle, escaping chroots and mount namespaces"},
    {"init_module", "loads code into the host kernel"},
    {"finit_module", "loads code into the host kernel"},
    {"delete_module", "unloads the host's kernel modules"},
};

constexpr DefaultEntry default_caps_drop[] = {
    {"sys_module", "kernel modules are the host's"},
    // systemd's sys-kernel-debug.mount fails with it (DESIGN.md).
    {"sys_rawio", "raw I/O ports and memory belong to the host"},
    {"sys_time", "the clock is shared with the host"},
    {"mac_admin", "the host's MAC policy is not the container's to change"},
    {"mac_override", "the host's MAC policy is not the container's to bypass"},
};

// Forced unmounts can abort I/O of filesystems shared with the host (NFS,
// FUSE); a container never needs them.
constexpr bool default_deny_forced_umount = true;

template <std::size_t N>
std::vector<std::string> names_of(const DefaultEntry (&table)[N]) {
    std::vector<std::string> out;
    out.reserve(N);
    for (const auto& e : table) out.emplace_back(e.name);
    return out;
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* key) {
    const auto& v = j.at(key);
    if (!v.is_array()) throw Error(400, std::string("security policy: '") + key + "' must be a list of names");
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& e : v) {
        if (!e.is_string())
            throw Error(400, std::string("security policy: '") + key + "' must be a list of names, found " + e.dump());
        out.push_back(e.get<std::string>());
    }
    return out;
}

} // namespace

SecurityPolicy SecurityPolicy::defaults() {
    SecurityPolicy p;
    p.syscalls_deny = names_of(default_syscalls_deny);
    p.deny_forced_umount = default_deny_forced_umount;
    p.caps_drop = names_of(default_caps_drop);
    return p;
}

void SecurityPolicy::validate() const {
    // LXD refuses security.syscalls.allow beside the deny keys too: the two
    // lists answer the same question in opposite ways.
    if (!syscalls_allow.empty() && !syscalls_deny.empty())
        throw Error(400, "security policy: 'syscalls_allow' and 'syscalls_deny' are mutually exclusive "
                         "(an allow list denies everything it does not name; clear the deny list)");
    detail::validate_syscall_names(syscalls_deny, "syscalls_deny");
    detail::validate_syscall_names(syscalls_allow, "syscalls_allow");
    detail::validate_cap_names(caps_drop);
}

const std::vector<std::string>& runtime_allowed_syscalls() {
    static const std::vector<std::string> names = {"execve", "sendmsg", "close", "write",
                                                   "exit", "exit_group", "rt_sigreturn"};
    return names;
}

void to_json(nlohmann::json& j, const SecurityPolicy& p) {
    j = nlohmann::json{
        {"syscalls_deny", p.syscalls_deny},
        {"syscalls_allow", p.syscalls_allow},
        {"deny_compat", p.deny_compat},
        {"restrict_personality", p.restrict_personality},
        {"deny_forced_umount", p.deny_forced_umount},
        {"caps_drop", p.caps_drop},
    };
}

// Keys that are absent keep p's current values, so a caller can overlay a
// partial policy on defaults(). Unknown keys are refused: a misspelt key
// would otherwise silently leave a container with less protection.
void from_json(const nlohmann::json& j, SecurityPolicy& p) {
    if (!j.is_object()) throw Error(400, "security policy must be a JSON object, found " + j.dump());
    auto flag = [](const std::string& key, const nlohmann::json& value) {
        if (!value.is_boolean())
            throw Error(400, "security policy: '" + key + "' must be true or false, found " + value.dump());
        return value.get<bool>();
    };
    for (const auto& [key, value] : j.items()) {
        if (key == "syscalls_deny") {
            p.syscalls_deny = string_list(j, "syscalls_deny");
        } else if (key == "syscalls_allow") {
            p.syscalls_allow = string_list(j, "syscalls_allow");
        } else if (key == "caps_drop") {
            p.caps_drop = string_list(j, "caps_drop");
        } else if (key == "deny_forced_umount") {
            p.deny_forced_umount = flag(key, value);
        } else if (key == "deny_compat") {
            p.deny_compat = flag(key, value);
        } else if (key == "restrict_personality") {
            p.restrict_personality = flag(key, value);
        } else {
            throw Error(400, "security policy: unknown key '" + key +
                                 "' (known: syscalls_deny, syscalls_allow, deny_compat, restrict_personality, "
                                 "deny_forced_umount, caps_drop)");
        }
    }
}

// Either file says so; securityfs is often not mounted, the module parameter
// is there whenever AppArmor is built in. Cached: it cannot change while we
// run, and callers ask on every container start.
bool apparmor_available() {
    static const bool available = [] {
        int fd = ::open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char c = 0;
            ssize_t n = ::read(fd, &c, 1);
            ::close(fd);
            if (n == 1) return c == 'Y' || c == 'y' || c == '1';
        }
        struct stat st {};
        return ::stat("/sys/kernel/security/apparmor", &st) == 0 && S_ISDIR(st.st_mode);
    }();
    return available;
}

} // namespace lodge::runtime
