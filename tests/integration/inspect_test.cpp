// A running container as the kernel sees it, read from the host with
// inspect_container: id maps, capabilities, seccomp and its filter,
// namespaces and the cgroup limits in force, also when something changed
// them behind the runtime's back.
#include "runtime/inspect.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/config.hpp"
#include "runtime/security.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

using namespace lodge;
using namespace lodge::test;
using runtime::FilterMatch;
using runtime::inspect_container;

namespace {

constexpr uint64_t mib = 1 << 20;

bool has(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

runtime::ContainerConfig config_of(const Container& c) {
    return nlohmann::json::parse(read_file(c.run_dir() + "/" + c.name() + "/config.json"))
        .get<runtime::ContainerConfig>();
}

// The container's v1 memory directory (the file the limit is in).
std::string memory_dir(const runtime::KernelState& s) {
    for (const auto& p : s.cgroup_paths)
        if (::access((p + "/memory.limit_in_bytes").c_str(), F_OK) == 0 || ::access((p + "/memory.max").c_str(), F_OK) == 0)
            return p;
    return {};
}

} // namespace

TEST(Inspect, RunningContainerShowsItsMapCapabilitiesFilterAndLimits) {
    Container c("ks-inspect", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1", "--memory", "128MiB", "--pids", "50"}).status, 0);
    auto cfg = config_of(c);
    auto s = inspect_container(c.run_dir(), c.name());

    ASSERT_EQ(s.idmap.uids.size(), cfg.idmap.uids.size());
    EXPECT_EQ(s.idmap.uids[0].container, 0u);
    EXPECT_EQ(s.idmap.uids[0].host, cfg.idmap.uids[0].host);
    EXPECT_EQ(s.idmap.uids[0].count, cfg.idmap.uids[0].count);
    EXPECT_EQ(s.idmap.gids[0].host, cfg.idmap.gids[0].host);

    for (const auto& cap : cfg.security.caps_drop) EXPECT_FALSE(has(s.caps.bounding, cap)) << cap;
    EXPECT_TRUE(s.dropped_caps_present.empty());
    EXPECT_TRUE(has(s.caps.bounding, "sys_admin"));
    EXPECT_TRUE(has(s.caps.effective, "sys_admin")) << "init is root in its own namespace";

    EXPECT_EQ(s.seccomp_mode, 2);
    EXPECT_EQ(s.seccomp_filters, 1);
    EXPECT_EQ(s.filter, FilterMatch::match) << s.filter_detail;

    EXPECT_EQ(s.limits.memory_bytes, 128 * mib);
    EXPECT_EQ(s.limits.pids_max, 50u);
    EXPECT_FALSE(s.limits.cpu_quota_us);
    EXPECT_FALSE(s.cgroup_paths.empty());
    EXPECT_TRUE(std::any_of(s.init_cgroups.begin(), s.init_cgroups.end(),
                            [&](const auto& m) { return m.path == "/lodge/" + c.name(); }));
    EXPECT_TRUE(s.cgroup_namespace_private);
    EXPECT_TRUE(s.user_namespace_private);

    // The tool prints the same as JSON, and init runs on after the look.
    Result r = c.runtime({"inspect", c.name()});
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["seccomp"]["filter"], "match");
    EXPECT_EQ(j["cgroup"]["limits"]["memory_bytes"], 128 * mib);
    EXPECT_EQ(j["idmap"]["uids"][0]["host"], cfg.idmap.uids[0].host);
    EXPECT_EQ(c.exec({"true"}).status, 0);
    EXPECT_NE(c.state_json().find("\"running\""), std::string::npos);
}

TEST(Inspect, LimitsAreReadFromTheKernelNotTheConfig) {
    Container c("ks-inspect-limits", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1", "--memory", "128MiB"}).status, 0);
    auto s = inspect_container(c.run_dir(), c.name());
    std::string dir = memory_dir(s);
    ASSERT_FALSE(dir.empty());
    // Someone writes a limit straight into the cgroup: inspect shows it.
    std::string file = dir + (::access((dir + "/memory.max").c_str(), F_OK) == 0 ? "/memory.max"
                                                                                 : "/memory.limit_in_bytes");
    write_file(file, std::to_string(96 * mib));
    EXPECT_EQ(inspect_container(c.run_dir(), c.name()).limits.memory_bytes, 96 * mib);
    // Applying limits without memory lifts the limit on the running container.
    runtime::open_cgroup(c.name())->apply({.pids_max = 30});
    auto after = inspect_container(c.run_dir(), c.name());
    EXPECT_FALSE(after.limits.memory_bytes);
    EXPECT_EQ(after.limits.pids_max, 30u);
}

TEST(Inspect, AnotherFilterIsAMismatch) {
    Container c("ks-inspect-filter", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    auto other = runtime::SecurityPolicy::defaults();
    other.syscalls_deny.push_back("bpf");
    auto program = runtime::compile_seccomp(other);
    write_file_atomic(c.run_dir() + "/" + c.name() + "/seccomp.bpf", std::string(program.begin(), program.end()),
                      0600);
    auto s = inspect_container(c.run_dir(), c.name());
    EXPECT_EQ(s.filter, FilterMatch::mismatch);
    EXPECT_FALSE(s.filter_detail.empty());
}

TEST(Inspect, FilterIsUnknownWhenInitIsTracedOrFrozen) {
    Container c("ks-inspect-traced", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    pid_t init = inspect_container(c.run_dir(), c.name()).init_pid;

    // A debugger holds init: inspect says so instead of failing.
    int ready[2], done[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(done), 0);
    pid_t tracer = ::fork();
    if (tracer == 0) {
        char b = ::ptrace(PTRACE_SEIZE, init, nullptr, nullptr) == 0 ? 1 : 0;
        (void)!::write(ready[1], &b, 1);
        (void)!::read(done[0], &b, 1);
        ::_exit(0); // a tracer that ends detaches
    }
    char attached = 0;
    ASSERT_EQ(::read(ready[0], &attached, 1), 1);
    ASSERT_EQ(attached, 1);
    auto s = inspect_container(c.run_dir(), c.name());
    EXPECT_EQ(s.filter, FilterMatch::unknown);
    EXPECT_NE(s.filter_detail.find("another process"), std::string::npos) << s.filter_detail;
    (void)!::write(done[1], "x", 1);
    ::waitpid(tracer, nullptr, 0);
    for (int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
    EXPECT_EQ(inspect_container(c.run_dir(), c.name()).filter, FilterMatch::match);

    ASSERT_EQ(c.runtime({"freeze", c.name()}).status, 0);
    auto frozen = inspect_container(c.run_dir(), c.name());
    EXPECT_EQ(frozen.filter, FilterMatch::unknown);
    EXPECT_NE(frozen.filter_detail.find("frozen"), std::string::npos) << frozen.filter_detail;
    ASSERT_EQ(c.runtime({"unfreeze", c.name()}).status, 0);
    EXPECT_EQ(c.exec({"true"}).status, 0);
}

TEST(Inspect, AStoppedContainerIsNotFound) {
    try {
        inspect_container("/nonexistent-run-dir", "ks-nothing");
        ADD_FAILURE() << "inspected a container that does not run";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 404);
    }
}
