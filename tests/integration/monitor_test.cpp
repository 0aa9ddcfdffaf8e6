// The monitor outlives whoever started the container; anyone can find it
// again, exec into the container and stop it.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lodge::test;
using json = nlohmann::json;

TEST(Monitor, SurvivesTheDeathOfItsStarter) {
    Container c("t-monitor", "busybox");
    // The starter: a shell that starts the container and lingers, killed
    // with SIGKILL (its whole process group) once the container runs.
    std::string cmd = bin("lodge-runtime") + " --run-dir " + c.run_dir() + " start " + c.name() + " --rootfs " +
                      c.rootfs() + " --halt-signal SIGUSR1 && echo started && exec sleep 600";
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_t starter = ::fork();
    if (starter == 0) {
        ::setpgid(0, 0);
        ::dup2(out[1], 1);
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    char buf[16] = {};
    ASSERT_GT(::read(out[0], buf, sizeof buf - 1), 0);
    ::close(out[0]);
    ASSERT_STREQ(buf, "started\n");
    ::kill(-starter, SIGKILL);
    ::waitpid(starter, nullptr, 0);

    // A new process finds it running, enters it and stops it.
    json st = json::parse(c.state_json());
    EXPECT_EQ(st["status"], "running");
    EXPECT_EQ(::kill(st["monitor_pid"].get<pid_t>(), 0), 0);
    Result r = c.exec({"echo", "still here"});
    EXPECT_EQ(r.out, "still here\n");
    Result stop = c.stop(10);
    ASSERT_EQ(stop.status, 0) << stop.err;
    EXPECT_TRUE(json::parse(stop.out)["clean"].get<bool>());
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

TEST(Monitor, ForceStopKillsAndRecordsIt) {
    Container c("t-monitor-kill", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    Result stop = c.stop(10, true);
    ASSERT_EQ(stop.status, 0) << stop.err;
    json rec = json::parse(stop.out);
    EXPECT_FALSE(rec["clean"].get<bool>());
    EXPECT_TRUE(rec["forced"].get<bool>());
    EXPECT_EQ(rec["signal"], SIGKILL);
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

TEST(Monitor, FailedStartLeavesNothingBehind) {
    Container c("t-monitor-fail", "busybox");
    Result r = c.start({"--init", "/no/such/init"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("/no/such/init"), std::string::npos) << r.err;
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
    // And the name is free for a proper start.
    EXPECT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
}

TEST(Monitor, SecondStartOfARunningContainerIsRefused) {
    Container c("t-monitor-twice", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    Result again = c.start({"--halt-signal", "SIGUSR1"});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;
}

TEST(Monitor, FreezeAndThaw) {
    Container c("t-monitor-freeze", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    EXPECT_EQ(json::parse(c.runtime({"freeze", c.name()}).out)["status"], "frozen");
    // exec into a frozen container is refused, not left hanging, and the
    // monitor still answers.
    Result frozen = c.exec({"true"});
    EXPECT_NE(frozen.status, 0);
    EXPECT_NE(frozen.err.find("frozen"), std::string::npos) << frozen.err;
    EXPECT_EQ(json::parse(c.state_json())["status"], "frozen");
    EXPECT_EQ(json::parse(c.runtime({"unfreeze", c.name()}).out)["status"], "running");
    EXPECT_EQ(c.exec({"echo", "thawed"}).out, "thawed\n");
}

TEST(Monitor, ForceStopOfAFrozenContainer) {
    Container c("t-monitor-frozen-kill", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    EXPECT_EQ(json::parse(c.runtime({"freeze", c.name()}).out)["status"], "frozen");
    Result stop = c.stop(10, true);
    ASSERT_EQ(stop.status, 0) << stop.err;
    EXPECT_TRUE(json::parse(stop.out)["forced"].get<bool>());
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

// A container whose monitor was killed is reported as such, is not started
// a second time over its living init, and can still be killed.
TEST(Monitor, UnsupervisedContainerIsReportedAndCanBeKilled) {
    Container c("t-monitor-orphan", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    json st = json::parse(c.state_json());
    pid_t init = st["init_pid"].get<pid_t>();
    ASSERT_EQ(::kill(st["monitor_pid"].get<pid_t>(), SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return json::parse(c.state_json())["status"] == "unsupervised"; }, 5))
        << c.state_json();
    EXPECT_EQ(::kill(init, 0), 0) << "init lives on without its monitor";
    Result again = c.start({"--halt-signal", "SIGUSR1"});
    EXPECT_NE(again.status, 0) << "a second init over the first";
    EXPECT_NE(c.runtime({"delete", c.name()}).status, 0);
    Result stop = c.stop(10, true);
    EXPECT_EQ(stop.status, 0) << stop.err;
    EXPECT_TRUE(wait_until([&] { return json::parse(c.state_json())["status"] == "stopped"; }, 5));
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}
