// exec through lodged with LXD's own client: output, exit codes, stdin,
// environment, working directory, user, and output recorded in the background.
#include "io_instance.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace lodge::test {

class Exec : public ::testing::Test {
protected:
    void SetUp() override {
        if (lxc_binary().empty()) GTEST_SKIP() << "lxd-client is not installed";
        instance_ = std::make_unique<IoInstance>("io-exec", true);
    }
    void TearDown() override { instance_.reset(); }
    Result lxc(const std::vector<std::string>& args, const std::string& input = "") {
        return instance_->lxc(args, input);
    }
    std::unique_ptr<IoInstance> instance_;
};

TEST_F(Exec, OutputAndExitCodeReachTheClient) {
    auto r = lxc({"exec", "io-exec", "--", "sh", "-c", "echo out; echo err >&2"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    r = lxc({"exec", "io-exec", "--", "sh", "-c", "exit 7"});
    EXPECT_EQ(r.status, 7) << r.err;
    r = lxc({"exec", "io-exec", "--", "true"});
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Exec, StdinIsPipedThrough) {
    std::string input;
    for (int i = 0; i < 20000; ++i) input += "line " + std::to_string(i) + "\n";
    auto r = lxc({"exec", "io-exec", "-T", "--", "sh", "-c", "wc -l; echo done"}, input);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "20000\ndone\n");
    r = lxc({"exec", "io-exec", "-T", "--", "cat"}, input);
    EXPECT_EQ(r.out, input);
}

TEST_F(Exec, EnvironmentCwdAndUser) {
    auto r = lxc({"exec", "io-exec", "--env", "GREETING=hello there", "--", "sh", "-c", "echo \"$GREETING|$HOME|$PATH\""});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "hello there|/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    r = lxc({"exec", "io-exec", "--cwd", "/etc", "--", "pwd"});
    EXPECT_EQ(r.out, "/etc\n") << r.err;
    r = lxc({"exec", "io-exec", "--user", "1000", "--group", "1001", "--", "sh", "-c", "id -u; id -g"});
    EXPECT_EQ(r.out, "1000\n1001\n") << r.err;
}

TEST_F(Exec, MissingCommandEndsLikeAShell) {
    auto r = lxc({"exec", "io-exec", "--", "/no/such/command"});
    EXPECT_EQ(r.status, 127);
}

TEST_F(Exec, StoppedInstanceIsRefused) {
    IoInstance stopped("io-exec-stopped", false);
    auto r = stopped.lxc({"exec", "io-exec-stopped", "--", "true"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
}

// Without websockets (pylxd's and Ansible's background exec): the output is
// recorded and served under the instance's logs.
TEST_F(Exec, RecordedOutputIsServedAsLogs) {
    auto reply = instance_->lodged().request(
        "POST", "/1.0/instances/io-exec/exec",
        R"({"command":["sh","-c","echo recorded; echo oops >&2; exit 3"],"wait-for-websocket":false,"record-output":true,"interactive":false})");
    ASSERT_EQ(reply.status, 202) << reply.body;
    auto op = reply.json()["operation"].get<std::string>();
    auto done = instance_->lodged().request("GET", op + "/wait?timeout=30").json()["metadata"];
    ASSERT_EQ(done["status"], "Success") << done.dump();
    EXPECT_EQ(done["metadata"]["return"], 3);
    auto out = instance_->lodged().request("GET", done["metadata"]["output"]["1"].get<std::string>());
    EXPECT_EQ(out.body, "recorded\n");
    auto err = instance_->lodged().request("GET", done["metadata"]["output"]["2"].get<std::string>());
    EXPECT_EQ(err.body, "oops\n");
    EXPECT_EQ(instance_->lodged().request("GET", "/1.0/instances/io-exec/logs/..%2Fx").status, 404);
}

} // namespace lodge::test

namespace lodge::test {

// Not a pass/fail on time: prints what `lxc exec NAME -- true` costs, for
// the benchmark notes.
TEST_F(Exec, ReportsTheRoundTripOfTrue) {
    for (int i = 0; i < 3; ++i) lxc({"exec", "io-exec", "--", "true"});
    const int n = 20;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) ASSERT_EQ(lxc({"exec", "io-exec", "--", "true"}).status, 0);
    auto t1 = std::chrono::steady_clock::now();
    std::printf("lxc exec -- true: %.1f ms each (client start-up included)\n",
                std::chrono::duration<double, std::milli>(t1 - t0).count() / n);
    auto t2 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) ASSERT_EQ(lxc({"version"}).status, 0);
    auto t3 = std::chrono::steady_clock::now();
    std::printf("lxc version (client start-up alone): %.1f ms each\n",
                std::chrono::duration<double, std::milli>(t3 - t2).count() / n);
    auto t4 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) ASSERT_EQ(instance_->lodge({"exec", "io-exec", "--", "true"}).status, 0);
    auto t5 = std::chrono::steady_clock::now();
    std::printf("lodge exec -- true: %.1f ms each\n", std::chrono::duration<double, std::milli>(t5 - t4).count() / n);
}

} // namespace lodge::test

namespace lodge::test {

// -t: the command gets a pty of the size lxc asks for; its output and
// input go through websocket 0.
TEST_F(Exec, InteractiveGetsATerminal) {
    auto r = lxc({"exec", "-t", "io-exec", "--", "sh", "-c", "tty; stty size; read line; echo got:$line; exit 5"},
                 "hello\n");
    EXPECT_EQ(r.status, 5) << r.err;
    EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("got:hello"), std::string::npos) << r.out;
}

} // namespace lodge::test

namespace lodge::test {

// lodge's own exec: the same session as lxc's.
TEST_F(Exec, LodgeExecLikeLxc) {
    auto r = instance_->lodge({"exec", "io-exec", "--", "sh", "-c", "echo out; echo err >&2; exit 7"});
    EXPECT_EQ(r.status, 7) << r.err;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    std::string input;
    for (int i = 0; i < 5000; ++i) input += "line " + std::to_string(i) + "\n";
    r = instance_->lodge({"exec", "io-exec", "--", "cat"}, input);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, input);
    r = instance_->lodge({"exec", "io-exec", "--env", "A=1", "--env", "B=two", "--cwd", "/etc", "--user", "1000", "--",
                          "sh", "-c", "echo $A $B $(pwd) $(id -u)"});
    EXPECT_EQ(r.out, "1 two /etc 1000\n") << r.err;
    r = instance_->lodge({"exec", "-t", "io-exec", "--", "sh", "-c", "tty; exit 3"});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
}

} // namespace lodge::test
