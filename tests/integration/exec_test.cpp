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

#include "cli/websocket_client.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <thread>

namespace lodge::test {

// As pylxd does it: the /1.0/containers tree, websockets 0, 1 and 2 only
// (never control), and GET on the operation until metadata.return appears.
TEST_F(Exec, PylxdStyleSessionWithoutControl) {
    auto& d = instance_->lodged();
    auto reply = d.request("POST", "/1.0/containers/io-exec/exec",
                           R"({"command":["sh","-c","cat; echo done >&2; exit 4"],"environment":{},
                               "wait-for-websocket":true,"interactive":false})");
    ASSERT_EQ(reply.status, 202) << reply.body;
    auto op = reply.json()["metadata"];
    const std::string id = op["id"];
    auto fds = op["metadata"]["fds"];
    auto ws = [&](const char* fd) {
        return std::make_unique<cli::WebSocketClient>(
            d.socket(), "/1.0/operations/" + id + "/websocket?secret=" + fds[fd].get<std::string>());
    };
    auto in = ws("0");
    auto out = ws("1");
    auto err = ws("2");
    // A secret works once; a wrong one never.
    EXPECT_THROW(ws("1"), std::runtime_error);
    EXPECT_EQ(d.request("GET", "/1.0/operations/" + id + "/websocket?secret=nope").status, 403);
    in->send(std::string(300000, 'x'), cli::WebSocketClient::Binary);
    in->send("", cli::WebSocketClient::Text); // end of input
    std::string got_out, got_err;
    for (auto* s : {out.get(), err.get()}) {
        auto& into = s == out.get() ? got_out : got_err;
        for (auto m = s->receive(); m.opcode == cli::WebSocketClient::Binary; m = s->receive()) into += m.data;
    }
    EXPECT_EQ(got_out.size(), 300000u);
    EXPECT_EQ(got_err, "done\n");
    nlohmann::json state;
    EXPECT_TRUE(wait_until(
        [&] {
            state = d.request("GET", "/1.0/operations/" + id).json()["metadata"];
            return state["metadata"].contains("return");
        },
        10));
    EXPECT_EQ(state["metadata"]["return"], 4);
    EXPECT_EQ(state["status"], "Success");
}

// Output much larger than any buffer arrives whole, in order.
TEST_F(Exec, LargeOutputArrivesWhole) {
    auto r = lxc({"exec", "io-exec", "--", "sh", "-c", "seq 1 400000"});
    EXPECT_EQ(r.status, 0) << r.err;
    std::string want;
    for (int i = 1; i <= 400000; ++i) want += std::to_string(i) + "\n";
    EXPECT_TRUE(r.out == want) << r.out.size() << " bytes instead of " << want.size();
}

// A signal sent to lxc reaches the command through the control websocket.
TEST_F(Exec, SignalsAreForwarded) {
    TempDir home("lodge-io-signal-home");
    Background exec({"/usr/bin/env", "-u", "LXD_CONF", "LXD_DIR=" + instance_->state_dir(), "HOME=" + home.path(),
                     lxc_binary(), "exec",
                     "io-exec", "--", "sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done"});
    ASSERT_TRUE(exec.wait_for_output("ready", 20)) << exec.output();
    // env execs lxc: the Background's PID is lxc's.
    exec.signal(SIGTERM);
    EXPECT_EQ(exec.wait_exit(20), 9) << exec.output();
    EXPECT_NE(exec.output().find("got-term"), std::string::npos) << exec.output();
}

} // namespace lodge::test

namespace lodge::test {

// An interactive client that goes away hangs up the terminal: the shell it
// left ends, and so does the operation.
TEST_F(Exec, InteractiveClientGoneHangsUp) {
    auto& d = instance_->lodged();
    auto reply = d.request("POST", "/1.0/instances/io-exec/exec",
                           R"({"command":["sh"],"wait-for-websocket":true,"interactive":true,"width":80,"height":24})");
    ASSERT_EQ(reply.status, 202) << reply.body;
    auto op = reply.json()["metadata"];
    const std::string id = op["id"];
    EXPECT_FALSE(op["metadata"]["fds"].contains("1"));
    {
        cli::WebSocketClient term(d.socket(),
                                  "/1.0/operations/" + id + "/websocket?secret=" + op["metadata"]["fds"]["0"].get<std::string>());
        term.send("echo hello-$((6*7))\n", cli::WebSocketClient::Binary);
        std::string seen;
        while (seen.find("hello-42") == std::string::npos) {
            auto m = term.receive();
            ASSERT_EQ(m.opcode, cli::WebSocketClient::Binary) << seen;
            seen += m.data;
        }
    }
    auto done = d.request("GET", "/1.0/operations/" + id + "/wait?timeout=20").json()["metadata"];
    EXPECT_EQ(done["status"], "Success") << done.dump();
    EXPECT_EQ(done["metadata"]["return"], 128 + SIGHUP) << done.dump();
}

} // namespace lodge::test
