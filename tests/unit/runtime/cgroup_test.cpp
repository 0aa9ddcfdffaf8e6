// The pure parts of the cgroup backends: reading mountinfo into hierarchies
// and a layout, name and limit validation, and the v1/v2 conversions.
#include "runtime/cgroup_internal.hpp"

#include "common/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lodge::runtime::cgroup_detail {
namespace {

// This build host's mountinfo, trimmed to the cgroup lines.
const char* hybrid_mountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupMountinfo, ParsesALineWithOptionalFields) {
    auto m = parse_mountinfo_line("36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime "
                                  "shared:15 master:3 - cgroup cgroup rw,xattr,cpu,cpuacct");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->device, "0:31");
    EXPECT_EQ(m->root, "/");
    EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(m->fstype, "cgroup");
    EXPECT_EQ(m->super_options, "rw,xattr,cpu,cpuacct");
}

TEST(CgroupMountinfo, UnescapesOctalInPaths) {
    auto m = parse_mountinfo_line("50 31 0:40 /a\\040b /mnt/my\\040dir\\134x rw - cgroup2 none rw\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->root, "/a b");
    EXPECT_EQ(m->mount_point, "/mnt/my dir\\x");
}

TEST(CgroupMountinfo, RejectsMalformedLines) {
    EXPECT_FALSE(parse_mountinfo_line(""));
    EXPECT_FALSE(parse_mountinfo_line("31 23 0:28 / /sys/fs/cgroup rw,relatime tmpfs tmpfs rw"));
    EXPECT_FALSE(parse_mountinfo_line("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs"));
    EXPECT_EQ(parse_mountinfo(std::string(hybrid_mountinfo) + "garbage\n\n").size(), 7u);
}

TEST(CgroupMountinfo, ControllersLeaveOutMountFlags) {
    EXPECT_EQ(v1_controllers("rw,xattr,cpu,cpuacct"), (std::vector<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(v1_controllers("rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd"),
              std::vector<std::string>{"name=systemd"});
    EXPECT_EQ(v1_controllers("rw,noprefix,clone_children,cpuset_v2_mode,cpuset"),
              std::vector<std::string>{"cpuset"});
}

TEST(CgroupLayout, HybridHostHasV1HierarchiesAndUnified) {
    auto h = find_hierarchies(parse_mountinfo(hybrid_mountinfo), "/sys/fs/cgroup", false);
    ASSERT_EQ(h.v1.size(), 5u);
    EXPECT_EQ(h.v1[0].mount, "/sys/fs/cgroup/cpu");
    EXPECT_TRUE(h.v1[0].has("cpu"));
    EXPECT_FALSE(h.v1[0].has("cpuacct")); // separate here, not co-mounted
    EXPECT_TRUE(h.v1[4].has("name=systemd"));
    EXPECT_EQ(h.unified, "/sys/fs/cgroup/unified");
    EXPECT_EQ(layout_of(h, "/sys/fs/cgroup"), CgroupLayout::hybrid);
}

TEST(CgroupLayout, CoMountedAndBindMountedHierarchiesCountOnce) {
    auto h = find_hierarchies(
        parse_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
                        "33 31 0:29 / /sys/fs/cgroup/cpu2 rw - cgroup cgroup rw,cpu,cpuacct\n"
                        "34 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                        "35 23 0:31 / /other/freezer rw - cgroup cgroup rw,freezer\n"
                        "36 34 0:32 / /sys/fs/cgroup/memory/nested rw - cgroup cgroup rw,pids\n"),
        "/sys/fs/cgroup", false);
    ASSERT_EQ(h.v1.size(), 2u);
    EXPECT_TRUE(h.v1[0].has("cpu") && h.v1[0].has("cpuacct"));
    EXPECT_EQ(h.v1[1].mount, "/sys/fs/cgroup/memory");
    EXPECT_FALSE(h.unified);
    EXPECT_EQ(layout_of(h, "/sys/fs/cgroup"), CgroupLayout::legacy);
}

TEST(CgroupLayout, LaterMountOnTheSamePointWins) {
    auto h = find_hierarchies(parse_mountinfo("32 31 0:29 / /sys/fs/cgroup/x rw - cgroup cgroup rw,cpu\n"
                                              "33 31 0:40 / /sys/fs/cgroup/x rw - tmpfs tmpfs rw\n"),
                              "/sys/fs/cgroup", false);
    EXPECT_TRUE(h.v1.empty());
}

TEST(CgroupLayout, UnifiedRootAndEmptyRoot) {
    auto h = find_hierarchies(parse_mountinfo(hybrid_mountinfo), "/sys/fs/cgroup/unified", true);
    EXPECT_TRUE(h.v1.empty());
    EXPECT_EQ(layout_of(h, "/sys/fs/cgroup/unified"), CgroupLayout::unified);
    EXPECT_THROW(layout_of(Hierarchies{}, "/nowhere"), Error);
}

TEST(CgroupNames, RejectsNamesThatLeaveTheSubtree) {
    for (const char* bad : {"", ".", "..", "a/b", "/abs"}) EXPECT_THROW(validate_name(bad), Error) << bad;
    EXPECT_NO_THROW(validate_name("web1"));
    EXPECT_NO_THROW(validate_parent("lodge"));
    EXPECT_NO_THROW(validate_parent("lodge/tests"));
    for (const char* bad : {"", "/lodge", "lodge/", "lodge/../x", "a//b"})
        EXPECT_THROW(validate_parent(bad), Error) << bad;
}

TEST(CgroupLimits, ValidationGivesA400) {
    auto status = [](Limits l) {
        try {
            validate_limits(l);
            return 0;
        } catch (const Error& e) {
            return e.status();
        }
    };
    EXPECT_EQ(status({}), 0);
    EXPECT_EQ(status({.cpu_weight = 0}), 400);
    EXPECT_EQ(status({.cpu_weight = 10001}), 400);
    EXPECT_EQ(status({.cpu_weight = 10000}), 0);
    EXPECT_EQ(status({.cpu_quota_us = 999}), 400);
    EXPECT_EQ(status({.cpu_quota_us = 50000, .cpu_period_us = 100}), 400);
    EXPECT_EQ(status({.cpuset_cpus = ""}), 400);
    EXPECT_EQ(status({.cpuset_cpus = "0\n1"}), 400);
    EXPECT_EQ(status({.cpuset_cpus = "0-1,3"}), 0);
}

TEST(CgroupLimits, V1SharesFromWeight) {
    EXPECT_EQ(v1_shares_from_weight(100), 1024u);
    EXPECT_EQ(v1_shares_from_weight(50), 512u);
    EXPECT_EQ(v1_shares_from_weight(10000), 102400u);
    EXPECT_EQ(v1_shares_from_weight(1), 10u);
}

TEST(CgroupLimits, V1MemswIsMemoryPlusSwap) {
    EXPECT_EQ(v1_memsw_target({.memory_bytes = 100, .memory_swap_bytes = 20}), 120u);
    EXPECT_EQ(v1_memsw_target({.memory_bytes = 100, .memory_swap_bytes = 0}), 100u);
    EXPECT_FALSE(v1_memsw_target({.memory_bytes = 100}));      // swap unlimited
    EXPECT_FALSE(v1_memsw_target({.memory_swap_bytes = 100})); // nothing to add to
    EXPECT_FALSE(v1_memsw_target({.memory_bytes = UINT64_MAX, .memory_swap_bytes = 1}));
}

TEST(CgroupLimits, V1MemswGoesFirstWhenMemoryOutgrowsIt) {
    const uint64_t unlimited = 9223372036854771712ull; // what v1 reads back for -1
    EXPECT_FALSE(v1_memsw_first(256 << 20, unlimited));
    EXPECT_TRUE(v1_memsw_first(std::nullopt, 512 << 20)); // lifting the limit
    EXPECT_TRUE(v1_memsw_first(1024 << 20, 512 << 20));
    EXPECT_FALSE(v1_memsw_first(256 << 20, 512 << 20));
}

TEST(CgroupLimits, V2CpuMax) {
    EXPECT_EQ(v2_cpu_max({}), "max 100000");
    EXPECT_EQ(v2_cpu_max({.cpu_quota_us = 50000, .cpu_period_us = 200000}), "50000 200000");
}

TEST(CgroupLimits, SplitSendsEachControllersFieldsToOneSide) {
    Limits l{.memory_bytes = 1,
             .memory_swap_bytes = 2,
             .cpu_weight = 3,
             .cpu_quota_us = 4000,
             .cpu_period_us = 5000,
             .cpuset_cpus = "0",
             .pids_max = 6};
    auto [v1, v2] = split_limits(l, [](std::string_view c) { return c != "pids" && c != "cpu"; });
    EXPECT_EQ(v1.memory_bytes, 1u);
    EXPECT_EQ(v1.memory_swap_bytes, 2u);
    EXPECT_EQ(v1.cpuset_cpus, "0");
    EXPECT_FALSE(v1.cpu_weight || v1.pids_max);
    EXPECT_EQ(v2.cpu_weight, 3u);
    EXPECT_EQ(v2.cpu_quota_us, 4000u);
    EXPECT_EQ(v2.cpu_period_us, 5000u);
    EXPECT_EQ(v2.pids_max, 6u);
    EXPECT_FALSE(v2.memory_bytes || v2.cpuset_cpus);
}

TEST(CgroupLimits, MissingControllerIsNamed) {
    auto none = [](std::string_view) { return false; };
    EXPECT_NO_THROW(require_controllers({}, none));
    try {
        require_controllers({.pids_max = 10}, [](std::string_view c) { return c != "pids"; });
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("pids"), std::string::npos);
    }
}

TEST(CgroupUsage, KeyedFilesAndNumbers) {
    EXPECT_EQ(keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3u);
    EXPECT_EQ(keyed_value("usage_usec 1234\nuser_usec 1000\n", "usage_usec"), 1234u);
    EXPECT_FALSE(keyed_value("low 0\nhigh 0\n", "oom_kill"));
    EXPECT_EQ(keyed_value("populated 1\nfrozen 0\n", "frozen"), 0u);
    EXPECT_EQ(parse_u64(" 42\n"), 42u);
    EXPECT_FALSE(parse_u64("max\n"));
    EXPECT_FALSE(parse_u64("-1"));
    EXPECT_FALSE(parse_u64(""));
}

TEST(CgroupUsage, MergeFillsGapsFromTheSecond) {
    UsageParts v1{.memory = 10, .cpu_ns = std::nullopt, .pids = 1};
    UsageParts v2{.memory = 99, .cpu_ns = 5000, .oom_kills = 2};
    Usage u = to_usage(merge_usage(v1, v2));
    EXPECT_EQ(u.memory_bytes, 10u);
    EXPECT_EQ(u.cpu_ns, 5000u);
    EXPECT_EQ(u.pids, 1u);
    EXPECT_EQ(u.oom_kills, 2u);
    EXPECT_EQ(u.memory_peak_bytes, 0u);
}

} // namespace
} // namespace lodge::runtime::cgroup_detail
