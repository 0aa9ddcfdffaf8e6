// A full OS boots with its own init in an unprivileged container: busybox
// (fast tier) and Debian with systemd (full tier).
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <vector>

using namespace lodge::test;
using json = nlohmann::json;

namespace {

uid_t host_uid_of(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Uid:", 0) == 0) return static_cast<uid_t>(std::stoul(line.substr(4)));
    return static_cast<uid_t>(-1);
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

} // namespace

TEST(Boot, BusyboxRunsUnprivilegedWithFilesKeepingTheirOwners) {
    Container c("t-boot-bb", "busybox");
    struct stat before;
    ASSERT_EQ(::stat((c.rootfs() + "/root/owned-by-1000").c_str(), &before), 0);
    ASSERT_EQ(before.st_uid, 1000u);

    Result start = c.start({"--halt-signal", "SIGUSR1"});
    ASSERT_EQ(start.status, 0) << start.err;
    json st = json::parse(c.state_json());
    EXPECT_EQ(st["status"], "running");
    pid_t init = st["init_pid"].get<pid_t>();

    Result id = c.exec({"id", "-u"});
    EXPECT_EQ(id.status, 0) << id.err;
    EXPECT_EQ(trim(id.out), "0");
    EXPECT_GE(host_uid_of(init), 1000000u) << "init runs as host root";

    // Inside, the files show their owners through the idmapped mount...
    Result ls = c.exec({"stat", "-c", "%u:%g", "/root/owned-by-1000", "/bin/busybox"});
    EXPECT_EQ(ls.out, "1000:1000\n0:0\n");
    // ...and on disk nothing was chowned.
    struct stat after, bb;
    ASSERT_EQ(::stat((c.rootfs() + "/root/owned-by-1000").c_str(), &after), 0);
    ASSERT_EQ(::stat((c.rootfs() + "/bin/busybox").c_str(), &bb), 0);
    EXPECT_EQ(after.st_uid, 1000u);
    EXPECT_EQ(bb.st_uid, 0u);

    // The hostname is the container's name; init got container=lxc.
    EXPECT_EQ(trim(c.exec({"hostname"}).out), "t-boot-bb");
    EXPECT_NE(c.exec({"cat", "/proc/1/environ"}).out.find("container=lxc"), std::string::npos);

    Result exit7 = c.exec({"sh", "-c", "exit 7"});
    EXPECT_EQ(exit7.status, 7);
    EXPECT_EQ(c.exec({"cat"}, "piped through stdin").out, "piped through stdin");

    Result stop = c.stop(10);
    ASSERT_EQ(stop.status, 0) << stop.err;
    json rec = json::parse(stop.out);
    EXPECT_TRUE(rec["clean"].get<bool>()) << stop.out;
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
    EXPECT_FALSE(std::ifstream(c.run_dir() + "/" + c.name() + "/monitor.sock").good());
}

TEST(Boot, DebianSystemdReachesRunningAndStopsCleanly) {
    Container c("t-boot-debian", "debian");
    Result start = c.start();
    ASSERT_EQ(start.status, 0) << start.err;

    // systemctl can ask only once PID 1 has made its private socket.
    EXPECT_TRUE(wait_until([&] { return c.exec({"test", "-S", "/run/systemd/private"}).status == 0; }, 30));
    Result running = c.exec({"systemctl", "is-system-running", "--wait"});
    EXPECT_EQ(trim(running.out), "running") << running.err << c.runtime({"console", c.name(), "--log"}).out
                                            << c.exec({"systemctl", "--failed", "--no-pager"}).out;
    Result failed = c.exec({"systemctl", "list-units", "--failed", "--no-legend", "--plain"});
    EXPECT_EQ(failed.out, "") << "failed units";

    auto t0 = std::chrono::steady_clock::now();
    Result stop = c.stop(30);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(stop.status, 0) << stop.err;
    json rec = json::parse(stop.out);
    EXPECT_TRUE(rec["clean"].get<bool>()) << stop.out;
    EXPECT_FALSE(rec["forced"].get<bool>());
    EXPECT_FALSE(rec["reboot"].get<bool>()) << "systemd halted, not rebooted";
    EXPECT_LT(secs, 5.0) << "clean stop took " << secs << " s";
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

// The guest's own reboot(2) ends the container the way the kernel ends a pid
// namespace (halt vs reboot recorded), so a daemon can restart it.
TEST(Boot, GuestHaltAndRebootAreRecorded) {
    Container c("t-boot-reboot", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    c.exec({"reboot"});
    ASSERT_TRUE(wait_until([&] { return json::parse(c.state_json())["status"] == "stopped"; }, 10));
    json rec = json::parse(c.state_json())["exit"];
    EXPECT_TRUE(rec["clean"].get<bool>()) << rec;
    EXPECT_TRUE(rec["reboot"].get<bool>()) << rec;

    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    c.exec({"poweroff"});
    ASSERT_TRUE(wait_until([&] { return json::parse(c.state_json())["status"] == "stopped"; }, 10));
    rec = json::parse(c.state_json())["exit"];
    EXPECT_TRUE(rec["clean"].get<bool>()) << rec;
    EXPECT_FALSE(rec["reboot"].get<bool>()) << rec;
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

// exec -t: the command gets a terminal of the container's own devpts, with
// the window size asked for; the console keeps what the guest wrote.
TEST(Boot, ExecOnAPtyAndTheConsoleLog) {
    Container c("t-boot-pty", "busybox");
    ASSERT_EQ(c.start({"--halt-signal", "SIGUSR1"}).status, 0);
    Result tty = c.exec({"tty"}, "", {"-t"});
    EXPECT_EQ(tty.status, 0) << tty.err;
    EXPECT_EQ(tty.out.rfind("/dev/pts/", 0), 0u) << tty.out;
    Result size = c.exec({"stty", "size"}, "", {"-t"});
    EXPECT_EQ(trim(size.out).substr(0, 5), "24 80") << size.out;
    Result nontty = c.exec({"sh", "-c", "tty || true"});
    EXPECT_EQ(nontty.out, "not a tty\n");
    EXPECT_TRUE(wait_until([&] { return c.runtime({"console", c.name(), "--log"}).out.find("BusyBox") != std::string::npos; }, 5))
        << c.runtime({"console", c.name(), "--log"}).out;
    // Attached to the console, a command typed reaches the guest's shell;
    // Ctrl-] detaches.
    // The guest's shell computes 42; the terminal's echo of the typed line can't.
    std::string attach = "(printf 'echo hi-$((20+22))\\n'; sleep 0.5; printf '\\035') | " + bin("lodge-runtime") +
                         " --run-dir " + c.run_dir() + " console " + c.name();
    Result con = run({"sh", "-c", attach});
    EXPECT_EQ(con.status, 0) << con.err;
    EXPECT_NE(con.out.find("hi-42\r\n"), std::string::npos) << con.out;
}

// overlayfs can't be idmapped: the root filesystem's ownership is shifted on
// disk once, recorded, and the container sees its files as their owners.
TEST(Boot, OverlayRootIsShiftedOnce) {
    RootfsCopy lower("busybox");
    std::string base = lower.dir();
    for (const char* d : {"/upper", "/work", "/merged"}) ASSERT_EQ(::mkdir((base + d).c_str(), 0755), 0);
    std::string opts = "lowerdir=" + lower.path() + ",upperdir=" + base + "/upper,workdir=" + base + "/work";
    ASSERT_EQ(run({"mount", "-t", "overlay", "overlay", "-o", opts, base + "/merged"}).status, 0);
    struct Unmount {
        std::string path;
        ~Unmount() { run({"umount", "-l", path}); }
    } unmount{base + "/merged"};

    std::string run_dir = base + "/run";
    auto rt = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {bin("lodge-runtime"), "--run-dir", run_dir});
        return run(args);
    };
    ASSERT_EQ(rt({"start", "t-boot-overlay", "--rootfs", base + "/merged", "--halt-signal", "SIGUSR1"}).status, 0);
    Result ids = rt({"exec", "t-boot-overlay", "--", "stat", "-c", "%u:%g", "/root/owned-by-1000", "/bin/busybox"});
    EXPECT_EQ(ids.out, "1000:1000\n0:0\n") << ids.err;
    EXPECT_EQ(trim(rt({"exec", "t-boot-overlay", "--", "id", "-u"}).out), "0");
    struct stat st;
    ASSERT_EQ(::stat((base + "/merged/root/owned-by-1000").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1001000u) << "shifted on disk by the container's base";
    EXPECT_EQ(rt({"stop", "t-boot-overlay", "--force"}).status, 0);
    // A second start finds the record and shifts nothing again.
    ASSERT_EQ(rt({"start", "t-boot-overlay", "--rootfs", base + "/merged", "--halt-signal", "SIGUSR1"}).status, 0);
    EXPECT_EQ(rt({"exec", "t-boot-overlay", "--", "stat", "-c", "%u", "/root/owned-by-1000"}).out, "1000\n");
    EXPECT_EQ(rt({"stop", "t-boot-overlay", "--force"}).status, 0);
    rt({"delete", "t-boot-overlay"});
    EXPECT_TRUE(wait_until([&] { return leftovers("t-boot-overlay", "").empty(); }, 5));
    // Only the test's own overlay mount is there, nothing of the container.
    EXPECT_EQ(leftovers("", base + "/merged").size(), 1u);
}

// Without a configured halt signal the runtime picks the one the image's
// init handles (busybox init ignores SIGPWR; it halts on SIGUSR1).
TEST(Boot, DefaultHaltSignalFollowsTheInit) {
    Container c("t-boot-halt", "busybox");
    ASSERT_EQ(c.start().status, 0);
    Result stop = c.stop(10);
    ASSERT_EQ(stop.status, 0) << stop.err;
    json rec = json::parse(stop.out);
    EXPECT_TRUE(rec["clean"].get<bool>()) << stop.out;
    EXPECT_FALSE(rec["forced"].get<bool>()) << stop.out;
}
