// What lodged reads from exec and file requests: the exec body and its
// defaults, control messages, file paths (no ".."), and X-LXD-* headers.
#include "common/error.hpp"
#include "daemon/api/exec_request.hpp"
#include "daemon/api/file_request.hpp"
#include "daemon/exec_session.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace lodge::daemon;

TEST(ExecRequest, LxcBodyGetsLxdDefaults) {
    auto p = parse_exec_post(R"({"command":["true"],"wait-for-websocket":true,"interactive":false,
        "environment":{"TERM":"xterm"},"width":0,"height":0,"record-output":false,"user":0,"group":0,"cwd":""})");
    EXPECT_EQ(p.command, std::vector<std::string>{"true"});
    EXPECT_TRUE(p.wait_for_websocket);
    auto env = exec_environment(p);
    EXPECT_EQ(env["HOME"], "/root");
    EXPECT_EQ(env["USER"], "root");
    EXPECT_EQ(env["LANG"], "C.UTF-8");
    EXPECT_EQ(env["TERM"], "xterm");
    EXPECT_NE(env["PATH"].find("/usr/sbin"), std::string::npos);
    auto r = exec_request(p);
    EXPECT_EQ(r.cwd, "/root");
    EXPECT_FALSE(r.pty);
    EXPECT_EQ(r.uid, 0u);
}

TEST(ExecRequest, UserGroupCwdAndTheClientsEnvironment) {
    auto p = parse_exec_post(
        R"({"command":["id"],"user":1000,"group":1001,"cwd":"/tmp","interactive":true,"width":100,"height":40,
            "environment":{"HOME":"/home/u","PATH":"/bin"}})");
    auto env = exec_environment(p);
    EXPECT_EQ(env["PATH"], "/bin");
    EXPECT_EQ(env.count("USER"), 0u); // LXD sets USER for root only
    auto r = exec_request(p);
    EXPECT_EQ(r.uid, 1000u);
    EXPECT_EQ(r.gid, 1001u);
    EXPECT_EQ(r.cwd, "/tmp");
    EXPECT_TRUE(r.pty);
    EXPECT_EQ(r.cols, 100);
    EXPECT_EQ(r.rows, 40);
    // Without cwd a non-root user starts in its HOME, else in /.
    EXPECT_EQ(exec_request(parse_exec_post(R"({"command":["id"],"user":5,"environment":{"HOME":"/home/u"}})")).cwd,
              "/home/u");
    EXPECT_EQ(exec_request(parse_exec_post(R"({"command":["id"],"user":5})")).cwd, "/");
}

TEST(ExecRequest, BadBodiesAre400) {
    for (const char* body : {R"({})", R"({"command":[]})", R"({"command":"ls"})", R"({"command":["ls"],"cwd":"tmp"})",
                             R"({"command":["ls"],"user":-5})", R"([1])"}) {
        try {
            exec_request(parse_exec_post(body));
            ADD_FAILURE() << body << " was accepted";
        } catch (const lodge::Error& e) {
            EXPECT_EQ(e.status(), 400) << body;
        } catch (const std::exception&) {
            // nlohmann's type errors: the router answers them with 400 too
        }
    }
    EXPECT_THROW(exec_request(parse_exec_post(R"({"command":["ls"],"environment":{"A=B":"c"}})")), lodge::Error);
}

TEST(ExecControl, WindowResizeAndSignal) {
    auto c = parse_exec_control(R"({"command":"window-resize","args":{"width":"120","height":"30"}})");
    EXPECT_EQ(c.kind, ExecControl::Kind::WindowResize);
    EXPECT_EQ(c.width, 120);
    EXPECT_EQ(c.height, 30);
    c = parse_exec_control(R"({"command":"signal","signal":15})");
    EXPECT_EQ(c.kind, ExecControl::Kind::Signal);
    EXPECT_EQ(c.signal, 15);
    for (const char* bad : {"", "nonsense", R"({"command":"signal","signal":0})", R"({"command":"signal","signal":999})",
                            R"({"command":"window-resize","args":{"width":"x","height":"1"}})", R"({"command":"reboot"})"})
        EXPECT_EQ(parse_exec_control(bad).kind, ExecControl::Kind::None) << bad;
}

TEST(FilePath, SplitsAndNormalises) {
    auto p = parse_file_path("/root//dir/./file");
    EXPECT_EQ(p.parent, "/root/dir");
    EXPECT_EQ(p.name, "file");
    EXPECT_EQ(p.full, "/root/dir/file");
    p = parse_file_path("etc/hostname"); // as lxc sends it
    EXPECT_EQ(p.full, "/etc/hostname");
    EXPECT_EQ(p.parent, "/etc");
    p = parse_file_path("/");
    EXPECT_EQ(p.name, "");
    EXPECT_EQ(p.full, "/");
}

TEST(FilePath, DotDotAndEmptyAre400) {
    for (const std::string& bad : std::vector<std::string>{"", "..", "../../etc/shadow", "/root/../../x", "/a/b/..",
                                                             std::string("/a\0b", 4)}) {
        try {
            parse_file_path(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const lodge::Error& e) {
            EXPECT_EQ(e.status(), 400) << bad;
        }
    }
    EXPECT_NO_THROW(parse_file_path("/a/..b/c.."));
}

TEST(FileHeaders, LxcsHeaders) {
    std::map<std::string, std::string> h{{"x-lxd-uid", "1000"}, {"x-lxd-gid", "-1"}, {"x-lxd-mode", "0640"},
                                         {"x-lxd-type", "directory"}, {"x-lxd-write", "append"}};
    auto f = parse_file_headers(h);
    EXPECT_EQ(f.uid, 1000u);
    EXPECT_FALSE(f.gid); // -1: unset
    EXPECT_EQ(f.mode, 0640u);
    EXPECT_EQ(f.type, FileType::Directory);
    EXPECT_EQ(f.write, WriteMode::Append);
    auto d = parse_file_headers(std::map<std::string, std::string>{});
    EXPECT_FALSE(d.uid);
    EXPECT_FALSE(d.mode);
    EXPECT_EQ(d.type, FileType::File);
    EXPECT_EQ(d.write, WriteMode::Overwrite);
}

TEST(FileHeaders, BadValuesAre400) {
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"x-lxd-uid", "abc"},
                                                                        {"x-lxd-uid", "-2"},
                                                                        {"x-lxd-gid", "99999999999"},
                                                                        {"x-lxd-mode", "0999"},
                                                                        {"x-lxd-mode", "17777"},
                                                                        {"x-lxd-type", "fifo"},
                                                                        {"x-lxd-write", "truncate"}}) {
        try {
            parse_file_headers(std::map<std::string, std::string>{{k, v}});
            ADD_FAILURE() << k << ": " << v << " was accepted";
        } catch (const lodge::Error& e) {
            EXPECT_EQ(e.status(), 400) << k << ": " << v;
        }
    }
}
