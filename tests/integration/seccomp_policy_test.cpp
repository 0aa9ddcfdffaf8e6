// Syscall policies beyond the defaults, tried from inside real containers
// with lodge-probe: a deny list, an allow list that still boots busybox and
// runs exec, the 32-bit ABIs refused, personality restricted, and the
// defaults unchanged beside them.
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace lodge::test;

namespace {

// Starts a busybox container with the probe and `policy` (JSON keys of the
// SecurityPolicy, over the defaults).
void start_with(Container& c, const std::string& policy) {
    c.install_probe();
    std::vector<std::string> opts = {"--halt-signal", "SIGUSR1"};
    if (!policy.empty()) opts.insert(opts.end(), {"--security", policy});
    Result r = c.start(opts);
    ASSERT_EQ(r.status, 0) << r.err;
}

// The probe's result line for one check.
std::string probe(Container& c, const std::vector<std::string>& check) {
    std::vector<std::string> cmd = {"/lodge-probe"};
    cmd.insert(cmd.end(), check.begin(), check.end());
    Result r = c.exec(cmd);
    return r.out + r.err;
}

bool denied_eperm(const std::string& out) { return out.find("denied (Operation not permitted)") != std::string::npos; }
bool reached(const std::string& out) { return out.find(": ok") != std::string::npos; }

// What busybox init, its rcS, sh, the exec'd applets and the probe's
// harmless checks call, from strace; bpf, keyctl, userfaultfd,
// perf_event_open and personality are left out on purpose.
const char* busybox_allow_list =
    R"(["access","arch_prctl","brk","chdir","chroot","clock_nanosleep","clone","close","dup2","execve",)"
    R"("exit_group","fcntl","futex","getcwd","getdents64","geteuid","getpid","getppid","getrandom","getuid",)"
    R"("ioctl","mkdir","mmap","mount","mprotect","munmap","newfstatat","openat","pipe2","prctl","pread64",)"
    R"("prlimit64","read","readlink","rseq","rt_sigaction","rt_sigreturn","sendfile","set_robust_list",)"
    R"("set_tid_address","umask","umount2","uname","utimensat","wait4","write","rt_sigprocmask",)"
    R"("rt_sigsuspend","rt_sigtimedwait","sigaltstack","kill","tgkill","tkill","setsid","setpgid","getpgid",)"
    R"("getpgrp","getsid","vfork","fork","clone3","dup","dup3","lseek","fstat","stat","lstat","statx","poll",)"
    R"("ppoll","select","pselect6","nanosleep","clock_gettime","gettimeofday","time","getgid","getegid",)"
    R"("getgroups","setgroups","setuid","setgid","setresuid","setresgid","getresuid","getresgid",)"
    R"("sched_yield","sched_getaffinity","unlink","unlinkat","rename","renameat","renameat2","rmdir",)"
    R"("mkdirat","symlink","symlinkat","link","linkat","readlinkat","chmod","fchmod","fchmodat","chown",)"
    R"("fchown","fchownat","lchown","truncate","ftruncate","fsync","fdatasync","sync","statfs","fstatfs",)"
    R"("getrlimit","setrlimit","sysinfo","times","umount","socket","connect","sendto","recvfrom","recvmsg",)"
    R"("sendmsg","socketpair","bind","listen","accept","accept4","shutdown","getsockname","getpeername",)"
    R"("setsockopt","getsockopt","madvise","mremap","open","creat","exit","waitid","pipe","faccessat",)"
    R"("faccessat2","fadvise64","getxattr","lgetxattr","fgetxattr","signalfd4","eventfd2","epoll_create1",)"
    R"("epoll_ctl","epoll_wait","epoll_pwait","timerfd_create","timerfd_settime","capget","capset","alarm",)"
    R"("getitimer","setitimer","restart_syscall","readv","writev","pwrite64","sethostname","close_range",)"
    R"("getdents","execveat","membarrier"])";

} // namespace

TEST(SeccompPolicy, DefaultsStillDenyOnlyTheirList) {
    Container c("ks-defaults", "busybox");
    start_with(c, "");
    for (const char* check : {"kexec_load", "init_module", "kexec_load-i386", "kexec_load-x32"})
        EXPECT_TRUE(denied_eperm(probe(c, {check}))) << check;
    // What the other policies deny reaches the kernel by default.
    for (std::vector<std::string> check : {std::vector<std::string>{"userfaultfd"}, {"perf_event_open"},
                                           {"keyctl"}, {"getpid"}, {"getpid-i386"}, {"personality", "0400000"},
                                           {"personality", "0040000"}}) {
        auto out = probe(c, check);
        EXPECT_TRUE(reached(out)) << out;
    }
}

TEST(SeccompPolicy, DenyListAnswersEperm) {
    Container c("ks-denylist", "busybox");
    start_with(c, R"({"syscalls_deny":["bpf","userfaultfd","perf_event_open","keyctl","kexec_load"]})");
    for (const char* check : {"bpf", "userfaultfd", "perf_event_open", "keyctl", "kexec_load", "kexec_load-i386"}) {
        auto out = probe(c, {check});
        EXPECT_TRUE(denied_eperm(out)) << out;
    }
    for (const char* check : {"getpid", "getpid-i386"}) {
        auto out = probe(c, {check});
        EXPECT_TRUE(reached(out)) << out;
    }
}

TEST(SeccompPolicy, AllowListBootsBusyboxAndDeniesTheRest) {
    Container c("ks-allowlist", "busybox");
    start_with(c, std::string(R"({"syscalls_deny":[],"syscalls_allow":)") + busybox_allow_list + "}");
    // rcS ran under init: the guest booted with only these calls.
    ASSERT_TRUE(wait_until([&] { return c.exec({"test", "-e", "/run/lodge-booted"}).status == 0; }, 10))
        << "busybox init did not finish rcS under the allow list";
    Result sh = c.exec({"sh", "-c", "echo hello from $(cat /proc/1/comm)"});
    EXPECT_EQ(sh.status, 0) << sh.err;
    EXPECT_EQ(sh.out, "hello from init\n");
    for (const char* check : {"bpf", "userfaultfd", "perf_event_open", "keyctl"}) {
        auto out = probe(c, {check});
        EXPECT_TRUE(denied_eperm(out)) << out;
    }
    auto out = probe(c, {"personality", "ffffffff"});
    EXPECT_TRUE(denied_eperm(out)) << "personality is not on the list: " << out;
    EXPECT_TRUE(reached(probe(c, {"getpid"})));
    EXPECT_TRUE(reached(probe(c, {"getpid-i386"}))) << "the list holds for i386 too";
    // reboot(2) from init still reaches the monitor: asked to reboot,
    // busybox init runs its shutdown actions and calls reboot(2), and the
    // monitor ends it.
    c.exec({"reboot"});
    ASSERT_TRUE(wait_until([&] { return c.state_json().find("\"stopped\"") != std::string::npos; }, 10))
        << c.state_json();
    EXPECT_NE(c.state_json().find("\"reboot\":true"), std::string::npos) << c.state_json();
}

TEST(SeccompPolicy, DenyCompatRefusesThe32BitAbis) {
    Container c("ks-compat", "busybox");
    start_with(c, R"({"deny_compat":true})");
    for (const char* check : {"getpid-i386", "kexec_load-i386", "kexec_load-x32"}) {
        auto out = probe(c, {check});
        EXPECT_TRUE(denied_eperm(out)) << out;
    }
    EXPECT_TRUE(reached(probe(c, {"getpid"})));
    EXPECT_TRUE(denied_eperm(probe(c, {"kexec_load"}))) << "the deny list still holds natively";
    EXPECT_EQ(c.exec({"true"}).status, 0);
}

TEST(SeccompPolicy, RestrictedPersonalityKeepsLinuxPersonas) {
    Container c("ks-persona", "busybox");
    start_with(c, R"({"restrict_personality":true})");
    for (const char* persona : {"0400000", "0040000", "0100000"}) {
        auto out = probe(c, {"personality", persona});
        EXPECT_TRUE(denied_eperm(out)) << persona << ": " << out;
    }
    for (const char* persona : {"0", "8", "ffffffff"}) {
        auto out = probe(c, {"personality", persona});
        EXPECT_TRUE(reached(out)) << persona << ": " << out;
    }
}
