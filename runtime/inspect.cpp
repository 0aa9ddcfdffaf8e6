// Reading a running container's security state from the host: /proc of its
// init, its seccomp filter through ptrace, its cgroup files. Nothing is
// asked of the container itself.
#include "runtime/inspect.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/config.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/security.hpp"
#include "runtime/syscalls.hpp"

#include <linux/filter.h>
#include <sys/capability.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lodge::runtime {

namespace {

std::string proc_path(pid_t pid, const char* file) { return "/proc/" + std::to_string(pid) + "/" + file; }

uint64_t hex_field(const std::string& status, const std::string& key) {
    std::string v = status_field(status, key);
    if (v.empty()) return 0; // CapAmb predates no kernel we run on; absent means none
    return std::stoull(v, nullptr, 16);
}

int int_field(const std::string& status, const std::string& key, int missing) {
    std::string v = status_field(status, key);
    return v.empty() ? missing : std::stoi(v);
}

CapabilitySets read_caps(const std::string& status) {
    return {capability_names(hex_field(status, "CapBnd")), capability_names(hex_field(status, "CapEff")),
            capability_names(hex_field(status, "CapPrm")), capability_names(hex_field(status, "CapInh")),
            capability_names(hex_field(status, "CapAmb"))};
}

std::vector<std::string> caps_still_bounded(const SecurityPolicy& policy, uint64_t bounding) {
    std::vector<std::string> out;
    auto numbers = cap_numbers(policy);
    for (size_t i = 0; i < numbers.size(); ++i)
        if (numbers[i] < 64 && (bounding >> numbers[i]) & 1) out.push_back(policy.caps_drop[i]);
    return out;
}

std::vector<CgroupMembership> parse_proc_cgroup(const std::string& text) {
    std::vector<CgroupMembership> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        // hierarchy-id:controllers:path (the path may hold colons)
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        out.push_back({line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
    return out;
}

bool other_namespace(pid_t pid, const char* ns) {
    struct stat theirs {}, ours {};
    std::string self = std::string("/proc/self/ns/") + ns;
    if (::stat(proc_path(pid, ("ns/" + std::string(ns)).c_str()).c_str(), &theirs) < 0)
        throw_errno("namespace of process " + std::to_string(pid));
    if (::stat(self.c_str(), &ours) < 0) throw_errno(self);
    return theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
}

struct FilterVerdict {
    FilterMatch match;
    std::string detail;
};

FilterVerdict unknown(const std::string& why) { return {FilterMatch::unknown, why}; }

// The oldest filter of a ptrace-stopped tracee: index 0 is the newest, so
// the count comes first. A guest may stack filters of its own on top of
// the runtime's; the runtime's stays the oldest.
FilterVerdict read_oldest_filter(pid_t pid, const std::vector<unsigned char>& expected, int& count) {
    long index = 0;
    while (::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, nullptr) >= 0) ++index;
    if (errno != ENOENT) {
        int err = errno;
        if (err == EMEDIUMTYPE)
            return unknown("the kernel keeps no copy of seccomp programs (CONFIG_CHECKPOINT_RESTORE is off)");
        return unknown(std::string("PTRACE_SECCOMP_GET_FILTER: ") + std::strerror(err));
    }
    count = static_cast<int>(index);
    if (index == 0) return {FilterMatch::mismatch, "init has no seccomp filter"};
    long n = ::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index - 1, nullptr);
    if (n < 0) return unknown(std::string("PTRACE_SECCOMP_GET_FILTER: ") + std::strerror(errno));
    std::vector<struct sock_filter> prog(static_cast<size_t>(n));
    if (::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index - 1, prog.data()) != n)
        return unknown(std::string("PTRACE_SECCOMP_GET_FILTER: ") + std::strerror(errno));
    size_t bytes = prog.size() * sizeof(struct sock_filter);
    if (bytes == expected.size() && std::memcmp(prog.data(), expected.data(), bytes) == 0)
        return {FilterMatch::match, ""};
    return {FilterMatch::mismatch, "init's filter (" + std::to_string(prog.size()) +
                                       " instructions) is not the compiled program (" +
                                       std::to_string(expected.size() / sizeof(struct sock_filter)) +
                                       " instructions)"};
}

// Attaches, stops init, reads, detaches. The stop lasts for a few
// syscalls. A signal that arrived while we held init is handed back to it
// on detach, so the guest loses nothing.
FilterVerdict compare_filter(pid_t pid, const std::vector<unsigned char>& expected, int& count) {
    if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) < 0) {
        int err = errno;
        if (err == EPERM)
            return unknown("cannot attach to init (another process traces it, or ptrace is not permitted): " +
                           std::string(std::strerror(err)));
        return unknown(std::string("cannot attach to init: ") + std::strerror(err));
    }
    if (::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) < 0) {
        int err = errno;
        ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
        return unknown(std::string("cannot stop init: ") + std::strerror(err));
    }
    int status = 0, pending = 0;
    for (;;) {
        if (::waitpid(pid, &status, __WALL) < 0) {
            if (errno == EINTR) continue;
            return unknown(std::string("waiting for init to stop: ") + std::strerror(errno));
        }
        if (!WIFSTOPPED(status)) return unknown("init ended while being inspected");
        // Our interrupt's stop, or a signal on its way to init: both are
        // ptrace stops, good for reading. The signal is passed on.
        if ((status >> 16) != PTRACE_EVENT_STOP) pending = WSTOPSIG(status);
        break;
    }
    FilterVerdict verdict = read_oldest_filter(pid, expected, count);
    if (::ptrace(PTRACE_DETACH, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(pending))) < 0 &&
        errno != ESRCH)
        throw_errno("detaching from init " + std::to_string(pid));
    return verdict;
}

std::vector<unsigned char> read_program(const std::string& path) {
    std::string bytes = read_file(path);
    return {bytes.begin(), bytes.end()};
}

} // namespace

std::vector<IdRange> parse_id_map(const std::string& text) {
    std::vector<IdRange> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        unsigned long inside = 0, outside = 0, count = 0;
        if (!(fields >> inside >> outside >> count)) continue;
        out.push_back({static_cast<uint32_t>(inside), static_cast<uint32_t>(outside), static_cast<uint32_t>(count)});
    }
    return out;
}

std::vector<std::string> capability_names(uint64_t mask) {
    std::vector<std::string> out;
    for (int bit = 0; bit < 64; ++bit) {
        if (!((mask >> bit) & 1)) continue;
        char* name = cap_to_name(static_cast<cap_value_t>(bit));
        std::string n = name ? name : std::to_string(bit);
        if (name) cap_free(name);
        if (n.rfind("cap_", 0) == 0) n = n.substr(4);
        out.push_back(n);
    }
    return out;
}

std::string status_field(const std::string& status, const std::string& key) {
    std::istringstream in(status);
    for (std::string line; std::getline(in, line);) {
        if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0 || line[key.size()] != ':') continue;
        auto v = line.find_first_not_of(" \t", key.size() + 1);
        return v == std::string::npos ? std::string() : line.substr(v);
    }
    return {};
}

KernelState inspect_container(const std::string& run_dir, const std::string& name) {
    KernelState s;
    s.name = name;
    UniqueFd pidfd;
    auto st = MonitorClient::connect(run_dir, name).call("pidfd", pidfd);
    s.init_pid = st.value("init_pid", -1);
    s.status = st.value("status", "running");
    if (s.init_pid <= 0 || !pidfd) throw Error("the monitor of '" + name + "' gave no init process");
    const std::string dir = container_run_dir(run_dir, name);
    auto cfg = nlohmann::json::parse(read_file(dir + "/config.json")).get<ContainerConfig>();

    s.idmap.uids = parse_id_map(read_file(proc_path(s.init_pid, "uid_map")));
    s.idmap.gids = parse_id_map(read_file(proc_path(s.init_pid, "gid_map")));
    std::string status = read_file(proc_path(s.init_pid, "status"));
    s.caps = read_caps(status);
    s.dropped_caps_present = caps_still_bounded(cfg.security, hex_field(status, "CapBnd"));
    s.seccomp_mode = int_field(status, "Seccomp", 0);
    s.seccomp_filters = int_field(status, "Seccomp_filters", -1);
    s.no_new_privs = int_field(status, "NoNewPrivs", 0) != 0;

    auto cgroup = open_cgroup(name);
    s.limits = cgroup->read_limits();
    s.cgroup_paths = cgroup->paths();
    s.init_cgroups = parse_proc_cgroup(read_file(proc_path(s.init_pid, "cgroup")));
    s.cgroup_namespace_private = other_namespace(s.init_pid, "cgroup");
    s.user_namespace_private = other_namespace(s.init_pid, "user");

    if (s.seccomp_mode != 2) {
        s.filter = FilterMatch::mismatch;
        s.filter_detail = "init is not in seccomp filter mode";
    } else if (s.status == "frozen" || cgroup->frozen()) {
        s.filter_detail = "the container is frozen: its init cannot be stopped to read the filter";
    } else if (::access((dir + "/seccomp.bpf").c_str(), F_OK) != 0) {
        s.filter_detail = "the run directory holds no compiled program (seccomp.bpf)";
    } else {
        int count = -1;
        auto verdict = compare_filter(s.init_pid, read_program(dir + "/seccomp.bpf"), count);
        s.filter = verdict.match;
        s.filter_detail = verdict.detail;
        if (s.seccomp_filters < 0 && count >= 0) s.seccomp_filters = count;
    }

    // Everything above was read from /proc/<pid>: it was this init only if
    // the pid still belongs to it now.
    if (sys::pidfd_send_signal(pidfd.get(), 0) < 0)
        throw Error(409, "container '" + name + "' stopped while being inspected");
    return s;
}

const char* to_string(FilterMatch m) {
    switch (m) {
    case FilterMatch::match: return "match";
    case FilterMatch::mismatch: return "mismatch";
    case FilterMatch::unknown: break;
    }
    return "unknown";
}

void to_json(nlohmann::json& j, const KernelState& s) {
    auto ranges = [](const std::vector<IdRange>& rs) {
        auto out = nlohmann::json::array();
        for (const auto& r : rs) out.push_back({{"container", r.container}, {"host", r.host}, {"count", r.count}});
        return out;
    };
    auto init_cgroups = nlohmann::json::array();
    for (const auto& m : s.init_cgroups) init_cgroups.push_back({{"controllers", m.controllers}, {"path", m.path}});
    j = {
        {"name", s.name},
        {"init_pid", s.init_pid},
        {"status", s.status},
        {"idmap", {{"uids", ranges(s.idmap.uids)}, {"gids", ranges(s.idmap.gids)}}},
        {"capabilities",
         {{"bounding", s.caps.bounding},
          {"effective", s.caps.effective},
          {"permitted", s.caps.permitted},
          {"inheritable", s.caps.inheritable},
          {"ambient", s.caps.ambient}}},
        {"dropped_caps_present", s.dropped_caps_present},
        {"seccomp",
         {{"mode", s.seccomp_mode},
          {"filters", s.seccomp_filters >= 0 ? nlohmann::json(s.seccomp_filters) : nlohmann::json()},
          {"no_new_privs", s.no_new_privs},
          {"filter", to_string(s.filter)},
          {"filter_detail", s.filter_detail}}},
        {"cgroup", {{"paths", s.cgroup_paths}, {"init", init_cgroups}, {"limits", s.limits}}},
        {"namespaces", {{"cgroup_private", s.cgroup_namespace_private}, {"user_private", s.user_namespace_private}}},
    };
}

} // namespace lodge::runtime
