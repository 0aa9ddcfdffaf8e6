// Resource limits hold inside the container and usage reads from the host.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace lodge::test;
using json = nlohmann::json;

TEST(Limits, MemoryLimitKillsTheAllocatorNotTheHost) {
    Container c("t-limit-mem", "busybox");
    c.install_probe();
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1", "--memory", "64MiB", "--memory-swap", "0"}).status, 0);
    Result r = c.exec({"/lodge-probe", "alloc", "256"});
    EXPECT_EQ(r.status, 128 + 9) << "the allocator was not killed: " << r.out;
    json usage = json::parse(c.runtime({"usage", c.name()}).out);
    EXPECT_GE(usage["oom_kills"].get<int>(), 1) << usage;
    EXPECT_LE(usage["memory_peak_bytes"].get<long long>(), 64LL << 20) << usage;
    // The container (and its init) lived through it.
    EXPECT_EQ(json::parse(c.state_json())["status"], "running");
    EXPECT_EQ(c.exec({"true"}).status, 0);
}

TEST(Limits, PidsLimitContainsAForkBomb) {
    Container c("t-limit-pids", "busybox");
    c.install_probe();
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1", "--pids", "40"}).status, 0);
    Result r = c.exec({"/lodge-probe", "forkbomb", "500"});
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("made"), std::string::npos) << r.out;
    int made = std::stoi(r.out.substr(r.out.find("made ") + 5));
    EXPECT_LT(made, 40) << r.out;
    EXPECT_EQ(c.exec({"true"}).status, 0) << "the container is still usable";
}

TEST(Limits, UsageIsReadFromTheHost) {
    Container c("t-limit-usage", "busybox");
    c.install_probe();
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1", "--memory", "256MiB"}).status, 0);
    ASSERT_EQ(c.exec({"/lodge-probe", "spin", "1"}).status, 0);
    json u = json::parse(c.runtime({"usage", c.name()}).out);
    // A second of spinning gets what the scheduler gives it on a busy host:
    // the point is that the host's counter is read, not how much it says.
    EXPECT_GT(u["cpu_ns"].get<long long>(), 50000000LL) << u;
    EXPECT_LT(u["cpu_ns"].get<long long>(), 30000000000LL) << u;
    EXPECT_GT(u["memory_bytes"].get<long long>(), 100000LL) << u;
    EXPECT_LT(u["memory_bytes"].get<long long>(), 256LL << 20) << u;
    EXPECT_GE(u["pids"].get<int>(), 2) << u; // init and its shell
    EXPECT_LT(u["pids"].get<int>(), 20) << u;
}
