// Reading limits back: the value parsers, and apply() followed by
// read_limits() on directories laid out like a v1 and a v2 cgroup (plain
// files, no root needed), so both backends' mappings are checked on any
// host; the integration tests do the same on the kernel's own files.
#include "runtime/cgroup_internal.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace lodge::runtime::cgroup_detail {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t mib = 1 << 20;

TEST(CgroupReadBack, LimitValues) {
    EXPECT_FALSE(parse_limit("max\n"));
    EXPECT_FALSE(parse_limit("-1\n"));
    EXPECT_FALSE(parse_limit("9223372036854771712\n")); // v1 memory's unlimited
    EXPECT_EQ(parse_limit("268435456\n"), 268435456u);
    EXPECT_EQ(parse_limit("0"), 0u);
    EXPECT_THROW(parse_limit("lots"), Error);
}

TEST(CgroupReadBack, SharesMapBackToTheWeightThatMadeThem) {
    for (uint64_t w = 1; w <= 10000; ++w)
        ASSERT_EQ(weight_from_v1_shares(v1_shares_from_weight(w)), w) << "weight " << w;
    EXPECT_EQ(weight_from_v1_shares(1024), 100u);
    EXPECT_EQ(weight_from_v1_shares(2), 1u);
    EXPECT_EQ(weight_from_v1_shares(262144), 10000u); // v1's maximum
}

TEST(CgroupReadBack, CpuMax) {
    auto unlimited = parse_cpu_max("max 100000\n");
    ASSERT_TRUE(unlimited);
    EXPECT_FALSE(unlimited->first);
    EXPECT_EQ(unlimited->second, 100000u);
    auto half = parse_cpu_max("50000 100000");
    ASSERT_TRUE(half);
    EXPECT_EQ(half->first, 50000u);
    EXPECT_FALSE(parse_cpu_max("50000"));
    EXPECT_FALSE(parse_cpu_max("x 100000"));
}

TEST(CgroupReadBack, LimitsJsonRoundTrip) {
    Limits l{.memory_bytes = 256 * mib, .cpu_quota_us = 20000, .cpu_period_us = 50000, .cpuset_cpus = "0"};
    nlohmann::json j = l;
    EXPECT_EQ(j, nlohmann::json::parse(
                     R"({"memory_bytes":268435456,"cpu_quota_us":20000,"cpu_period_us":50000,"cpuset_cpus":"0"})"));
    EXPECT_EQ(j.get<Limits>(), l);
}

// A directory tree shaped like the cgroup files apply() and read_limits()
// use, with the values a fresh cgroup shows.
class FakeTree {
public:
    FakeTree() {
        std::string tmpl = (fs::temp_directory_path() / "lodge-cgroup-limits.XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        root_ = tmpl;
    }
    ~FakeTree() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    // Writes file (and its directory) under the root.
    void put(const std::string& path, const std::string& value) const {
        fs::create_directories(fs::path(root_ + "/" + path).parent_path());
        write_file_atomic(root_ + "/" + path, value);
    }
    const std::string& root() const { return root_; }

private:
    std::string root_;
};

const Limits all_set{.memory_bytes = 256 * mib,
                     .memory_swap_bytes = 64 * mib,
                     .cpu_weight = 33,
                     .cpu_quota_us = 25000,
                     .cpu_period_us = 50000,
                     .cpuset_cpus = "1",
                     .pids_max = 77};

TEST(CgroupReadBack, V2ApplyThenReadGivesTheSameLimits) {
    FakeTree t;
    const std::string d = "p/c/";
    t.put(d + "cgroup.controllers", "cpuset cpu memory pids\n");
    for (auto [f, v] : {std::pair{"memory.max", "max"}, {"memory.swap.max", "max"}, {"cpu.weight", "100"},
                        {"cpu.max", "max 100000"}, {"cpuset.cpus", ""}, {"pids.max", "max"}})
        t.put(d + f, v);
    CgroupV2 cg(t.root(), "p", "c");
    EXPECT_EQ(cg.read_limits(), Limits{});
    for (const Limits& l : {all_set, Limits{.pids_max = 5}, Limits{.cpu_weight = 10000, .cpu_period_us = 1000},
                            Limits{}}) {
        cg.apply(l);
        EXPECT_EQ(nlohmann::json(cg.read_limits()), nlohmann::json(l));
    }
    // Unsetting writes the defaults back.
    EXPECT_EQ(trim(read_file(t.root() + "/" + d + "memory.max")), "max");
    EXPECT_EQ(trim(read_file(t.root() + "/" + d + "cpu.weight")), "100");
}

TEST(CgroupReadBack, V2WithoutControllersReadsNothing) {
    FakeTree t;
    t.put("p/c/cgroup.controllers", "hugetlb\n");
    CgroupV2 cg(t.root(), "p", "c");
    EXPECT_EQ(cg.read_limits(), Limits{});
}

TEST(CgroupReadBack, V1ApplyThenReadGivesTheSameLimits) {
    FakeTree t;
    auto put = [&](const std::string& ctrl, const std::string& file, const std::string& v) {
        t.put(ctrl + "/p/c/" + file, v);
    };
    put("memory", "memory.limit_in_bytes", "9223372036854771712");
    put("memory", "memory.memsw.limit_in_bytes", "9223372036854771712");
    put("cpu", "cpu.shares", "1024");
    put("cpu", "cpu.cfs_quota_us", "-1");
    put("cpu", "cpu.cfs_period_us", "100000");
    put("cpuset", "cpuset.cpus", "0-3");
    t.put("cpuset/p/cpuset.cpus", "0-3");
    put("pids", "pids.max", "max");
    std::vector<Hierarchy> hs;
    for (const char* c : {"memory", "cpu", "cpuset", "pids"}) hs.push_back({t.root() + "/" + c, {c}});
    CgroupV1 cg(hs, "p", "c");
    EXPECT_EQ(cg.read_limits(), Limits{});
    // Memory without swap: memsw unlimited, so swap reads unset.
    for (const Limits& l : {all_set, Limits{.memory_bytes = 64 * mib}, Limits{.memory_bytes = 64 * mib,
                                                                             .memory_swap_bytes = 0},
                            Limits{.cpu_weight = 1, .cpuset_cpus = "0,2"}, Limits{}}) {
        cg.apply(l);
        EXPECT_EQ(nlohmann::json(cg.read_limits()), nlohmann::json(l));
    }
    EXPECT_EQ(trim(read_file(t.root() + "/memory/p/c/memory.limit_in_bytes")), "-1");
    EXPECT_EQ(trim(read_file(t.root() + "/cpuset/p/c/cpuset.cpus")), "0-3");
}

} // namespace
} // namespace lodge::runtime::cgroup_detail
