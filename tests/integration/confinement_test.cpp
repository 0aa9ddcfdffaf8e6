// What the default container must not be able to do, tried from inside with
// lodge-probe: device nodes, kernel modules, kexec, file handles, the host's
// /proc and /sys knobs, a v1 cgroup's release_agent, and seeing the host.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

using namespace lodge::test;

namespace {

class Confinement : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        c_ = new Container("t-confine", "busybox");
        c_->install_probe();
        Result r = c_->start({"--halt-signal", "SIGUSR1"});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    static void TearDownTestSuite() {
        delete c_;
        c_ = nullptr;
    }
    static Result probe(const std::string& check) { return c_->exec({"/lodge-probe", check}); }
    static Container* c_;
};
Container* Confinement::c_ = nullptr;

} // namespace

// Each of these must be refused with EPERM by the seccomp filter, on every
// ABI: "denied (Operation not permitted)".
TEST_F(Confinement, DeniedSyscallsAreRefusedOnEveryAbi) {
    for (const char* check : {"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
                              "open_by_handle_at", "kexec_load-i386", "init_module-i386", "kexec_load-x32"}) {
        Result r = probe(check);
        EXPECT_EQ(r.status, 1) << check << ": " << r.out << r.err;
        EXPECT_NE(r.out.find("denied (Operation not permitted)"), std::string::npos) << r.out;
    }
}

TEST_F(Confinement, NoBlockDeviceNodes) {
    Result r = probe("mknod-block");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("denied"), std::string::npos) << r.out;
}

TEST_F(Confinement, HostKernelKnobsStayOutOfReach) {
    // On hosts without sysrq the file is absent; either way it can't be
    // opened for writing.
    for (const char* check : {"write-sysrq", "write-core-pattern", "fresh-proc", "write-sys", "release-agent"}) {
        Result r = probe(check);
        EXPECT_EQ(r.status, 1) << check << ": " << r.out << r.err;
        EXPECT_EQ(r.out.find(": ok"), std::string::npos) << r.out;
    }
}

TEST_F(Confinement, CapabilityBoundingSetLacksDangerousCaps) {
    Result r = c_->exec({"grep", "CapBnd", "/proc/1/status"});
    ASSERT_EQ(r.status, 0) << r.err;
    unsigned long long bnd = std::stoull(r.out.substr(r.out.find(':') + 1), nullptr, 16);
    for (int cap : {16 /*sys_module*/, 17 /*sys_rawio*/, 25 /*sys_time*/, 33 /*mac_admin*/, 32 /*mac_override*/})
        EXPECT_EQ(bnd & (1ULL << cap), 0u) << "capability " << cap << " still in init's bounding set";
    EXPECT_NE(bnd & (1ULL << 21 /*sys_admin*/), 0u) << "init needs sys_admin in its own namespace";
}

TEST_F(Confinement, HostProcessesAndInterfacesAreInvisible) {
    Result ps = c_->exec({"sh", "-c", "ls -d /proc/[0-9]* | wc -l"});
    ASSERT_EQ(ps.status, 0);
    EXPECT_LT(std::stoi(ps.out), 10) << "the container sees host processes";
    Result pid1 = c_->exec({"cat", "/proc/1/comm"});
    EXPECT_EQ(pid1.out, "init\n");
    Result net = c_->exec({"ls", "/sys/class/net"});
    EXPECT_EQ(net.out, "lo\n");
    Result dev = c_->exec({"cat", "/proc/net/dev"});
    EXPECT_EQ(dev.out.find("eth"), std::string::npos) << dev.out;
}

TEST_F(Confinement, ExecSharesInitsFilterAndCapabilities) {
    Result self = c_->exec({"grep", "-E", "^(CapBnd|Seccomp|NoNewPrivs):", "/proc/self/status"});
    Result init = c_->exec({"grep", "-E", "^(CapBnd|Seccomp|NoNewPrivs):", "/proc/1/status"});
    EXPECT_EQ(self.out, init.out);
    EXPECT_NE(self.out.find("Seccomp:\t2"), std::string::npos) << self.out;
}
