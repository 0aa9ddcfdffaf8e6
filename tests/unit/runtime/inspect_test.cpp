// The parsing under inspect_container: /proc id maps, capability masks as
// the policy's names, and /proc/PID/status fields.
#include "runtime/inspect.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lodge::runtime {
namespace {

TEST(Inspect, ParsesIdMaps) {
    auto r = parse_id_map("         0    1000000      65536\n      1000       2000          1\n\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].container, 0u);
    EXPECT_EQ(r[0].host, 1000000u);
    EXPECT_EQ(r[0].count, 65536u);
    EXPECT_EQ(r[1].host, 2000u);
    EXPECT_TRUE(parse_id_map("").empty());
}

TEST(Inspect, CapabilityMasksBecomePolicyNames) {
    EXPECT_TRUE(capability_names(0).empty());
    auto names = capability_names((1ULL << 16) | (1ULL << 21) | 1ULL);
    EXPECT_EQ(names, (std::vector<std::string>{"chown", "sys_module", "sys_admin"}));
    // A bit libcap has no name for keeps its number.
    EXPECT_EQ(capability_names(1ULL << 63), std::vector<std::string>{"63"});
}

TEST(Inspect, StatusFields) {
    const std::string status = "Name:\tinit\nCapBnd:\t000001fdfdcbfeff\nSeccomp:\t2\nSeccomp_filters:\t1\n"
                               "NoNewPrivs:\t0\n";
    EXPECT_EQ(status_field(status, "CapBnd"), "000001fdfdcbfeff");
    EXPECT_EQ(status_field(status, "Seccomp"), "2");
    EXPECT_EQ(status_field(status, "Seccomp_filters"), "1");
    EXPECT_EQ(status_field(status, "CapAmb"), "");
}

TEST(Inspect, JsonShape) {
    KernelState s;
    s.name = "c1";
    s.init_pid = 42;
    s.seccomp_mode = 2;
    s.filter = FilterMatch::mismatch;
    s.limits.memory_bytes = 1 << 20;
    nlohmann::json j = s;
    EXPECT_EQ(j["seccomp"]["filter"], "mismatch");
    EXPECT_TRUE(j["seccomp"]["filters"].is_null());
    EXPECT_EQ(j["cgroup"]["limits"]["memory_bytes"], 1 << 20);
    EXPECT_FALSE(j["cgroup"]["limits"].contains("pids_max"));
    EXPECT_EQ(j["namespaces"]["cgroup_private"], false);
}

} // namespace
} // namespace lodge::runtime
