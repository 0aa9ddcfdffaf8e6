// Host probing for the server environment. Values come from the running
// system (uname, /etc/os-release, /proc), never from constants, so `lxc info`
// tells an admin the truth about this host.
#include "daemon/host.hpp"

#include "storage/driver.hpp"

#include "common/file.hpp"

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace lodge::daemon {

namespace {

// KEY=value or KEY="value" from /etc/os-release.
std::string os_release_value(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + "=", 0) != 0) continue;
        auto v = line.substr(key.size() + 1);
        if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
            v = v.substr(1, v.size() - 2);
        return v;
    }
    return "";
}

// The architectures this kernel runs natively and through personality(2),
// as LXD lists them (the 32-bit sibling second).
std::vector<std::string> architectures(const std::string& machine) {
    if (machine == "x86_64") return {"x86_64", "i686"};
    if (machine == "aarch64") return {"aarch64", "armv7l"};
    if (machine == "ppc64le") return {"ppc64le"};
    if (machine == "s390x") return {"s390x"};
    return {machine};
}

const char* flag(bool b) { return b ? "true" : "false"; }

// A syscall exists when calling it with an invalid fd fails with anything
// but ENOSYS.
bool syscall_exists(long nr) {
    errno = 0;
    long rc = ::syscall(nr, -1, nullptr, 0, nullptr, 0);
    return !(rc < 0 && errno == ENOSYS);
}

std::map<std::string, std::string> kernel_features(const std::string& release) {
    auto seccomp_actions = read_file_if_exists("/proc/sys/kernel/seccomp/actions_avail");
    auto filesystems = read_file_if_exists("/proc/filesystems");
#ifdef SYS_mount_setattr
    const bool idmapped = syscall_exists(SYS_mount_setattr);
#else
    const bool idmapped = syscall_exists(442);
#endif
    // Features without a cheap probe go by the kernel version that brought
    // them (the same cut-offs LXD uses).
    return {
        {"idmapped_mounts", flag(idmapped)},
        {"netnsid_getifaddrs", flag(kernel_at_least(release, 4, 20))},
        {"seccomp_listener", flag(seccomp_actions.find("user_notif") != std::string::npos)},
        {"seccomp_listener_continue", flag(kernel_at_least(release, 5, 5))},
        {"shiftfs", flag(filesystems.find("shiftfs") != std::string::npos)},
        {"uevent_injection", flag(kernel_at_least(release, 4, 18))},
        {"unpriv_fscaps", flag(kernel_at_least(release, 4, 14))},
    };
}

} // namespace

bool kernel_at_least(const std::string& release, int major, int minor) {
    int ma = 0, mi = 0;
    if (std::sscanf(release.c_str(), "%d.%d", &ma, &mi) != 2) return false;
    return ma > major || (ma == major && mi >= minor);
}

api::ServerEnvironment probe_host_environment(const std::string& server_version) {
    api::ServerEnvironment env;
    struct utsname u {};
    ::uname(&u);
    env.kernel = u.sysname;
    env.kernel_architecture = u.machine;
    env.kernel_version = u.release;
    env.architectures = architectures(u.machine);
    env.kernel_features = kernel_features(u.release);

    auto os_release = read_file_if_exists("/etc/os-release");
    if (os_release.empty()) os_release = read_file_if_exists("/usr/lib/os-release");
    env.os_name = os_release_value(os_release, "NAME");
    env.os_version = os_release_value(os_release, "VERSION_ID");

    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    env.server_name = host;
    env.server_pid = ::getpid();
    env.server = "lodge";
    env.server_version = server_version;
    // lodge runs containers itself, not through liblxc: the driver is lodge
    // and there are no liblxc features to report.
    env.driver = "lodge";
    env.driver_version = server_version;
    // The drivers that work on this host (btrfs needs the kernel's btrfs
    // and mkfs.btrfs); versions are lodge's own drivers' versions.
    env.storage = "";
    env.storage_version = "";
    for (const auto& driver : storage::available_drivers()) {
        env.storage += (env.storage.empty() ? "" : " | ") + driver;
        env.storage_version += (env.storage_version.empty() ? "" : " | ") + std::string("1");
        env.storage_supported_drivers.push_back({driver, "1", false});
    }
    // No HTTPS listener and no managed network yet: empty, not invented.
    env.firewall = "";
    return env;
}

} // namespace lodge::daemon
