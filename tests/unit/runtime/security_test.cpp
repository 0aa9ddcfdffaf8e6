// The security policy: its defaults, validation and JSON, and that the
// compiled seccomp filter really denies the listed calls on all three x86
// ABIs (checked in a forked child, which is the only process filtered).
#include "runtime/security.hpp"

#include "common/error.hpp"

#include <gtest/gtest.h>

#include <linux/filter.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lodge::runtime {
namespace {

// Plain gtest: the unit-test binary links gtest_main only, not gmock.
std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

bool contains(const char* text, const std::string& part) { return std::string(text).find(part) != std::string::npos; }

// --- the policy as data ----------------------------------------------------

TEST(SecurityPolicy, DefaultsDenyKernelReachingCalls) {
    auto p = SecurityPolicy::defaults();
    EXPECT_EQ(sorted(p.syscalls_deny), sorted({"kexec_load", "kexec_file_load", "open_by_handle_at", "init_module",
                                               "finit_module", "delete_module"}));
    EXPECT_TRUE(p.deny_forced_umount);
    EXPECT_EQ(sorted(p.caps_drop), sorted({"sys_module", "sys_rawio", "sys_time", "mac_admin", "mac_override"}));
    EXPECT_NO_THROW(p.validate());
}

void expect_refused(const SecurityPolicy& p, const std::string& bad) {
    try {
        p.validate();
        ADD_FAILURE() << "validate() accepted '" << bad << "'";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_TRUE(contains(e.what(), "'" + bad + "'")) << e.what();
    }
}

TEST(SecurityPolicy, ValidateRefusesUnknownSyscalls) {
    for (std::string bad : {"not_a_syscall", "", "246", "KEXEC_LOAD", "kexec load"}) {
        auto p = SecurityPolicy::defaults();
        p.syscalls_deny.push_back(bad);
        expect_refused(p, bad);
    }
}

TEST(SecurityPolicy, ValidateRefusesUnknownCapabilities) {
    for (std::string bad : {"sys_bogus", "", "16", "SYS_MODULE", "cap_sys_module", "sys-module"}) {
        auto p = SecurityPolicy::defaults();
        p.caps_drop.push_back(bad);
        expect_refused(p, bad);
    }
}

TEST(SecurityPolicy, ValidateAcceptsSyscallsOtherAbisHave) {
    // umount exists on i386 only; libseccomp still knows it.
    SecurityPolicy p;
    p.syscalls_deny = {"umount", "umount2", "pread64"};
    p.caps_drop = {"sys_admin", "net_raw"};
    EXPECT_NO_THROW(p.validate());
}

TEST(SecurityPolicy, JsonRoundTrip) {
    SecurityPolicy p;
    p.syscalls_deny = {"bpf", "userfaultfd"};
    p.deny_forced_umount = false;
    p.caps_drop = {"sys_admin"};
    p.deny_compat = true;
    p.restrict_personality = true;
    nlohmann::json j = p;
    EXPECT_EQ(j, nlohmann::json::parse(R"({"syscalls_deny":["bpf","userfaultfd"],"syscalls_allow":[],
                                           "deny_compat":true,"restrict_personality":true,
                                           "deny_forced_umount":false,"caps_drop":["sys_admin"]})"));
    auto back = j.get<SecurityPolicy>();
    EXPECT_EQ(back.syscalls_deny, p.syscalls_deny);
    EXPECT_EQ(back.syscalls_allow, p.syscalls_allow);
    EXPECT_EQ(back.deny_compat, p.deny_compat);
    EXPECT_EQ(back.restrict_personality, p.restrict_personality);
    EXPECT_EQ(back.deny_forced_umount, p.deny_forced_umount);
    EXPECT_EQ(back.caps_drop, p.caps_drop);

    SecurityPolicy allow;
    allow.syscalls_allow = {"read", "write"};
    auto allow_back = nlohmann::json(allow).get<SecurityPolicy>();
    EXPECT_EQ(allow_back.syscalls_allow, allow.syscalls_allow);
    EXPECT_TRUE(allow_back.syscalls_deny.empty());
}

TEST(SecurityPolicy, NewKeysDefaultOff) {
    auto p = SecurityPolicy::defaults();
    EXPECT_TRUE(p.syscalls_allow.empty());
    EXPECT_FALSE(p.deny_compat);
    EXPECT_FALSE(p.restrict_personality);
    // A config.json written before these keys existed still reads.
    from_json(nlohmann::json::parse(R"({"syscalls_deny":["bpf"]})"), p);
    EXPECT_FALSE(p.deny_compat);
}

TEST(SecurityPolicy, AllowAndDenyListsAreMutuallyExclusive) {
    auto p = SecurityPolicy::defaults();
    p.syscalls_allow = {"read"};
    try {
        p.validate();
        ADD_FAILURE() << "accepted an allow list beside the deny list";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_TRUE(contains(e.what(), "mutually exclusive")) << e.what();
    }
    EXPECT_THROW(compile_seccomp(p), Error);
    p.syscalls_deny.clear();
    EXPECT_NO_THROW(p.validate());
}

TEST(SecurityPolicy, ValidateRefusesUnknownAllowedSyscallsNamingTheList) {
    SecurityPolicy p;
    p.syscalls_allow = {"read", "no_such_call"};
    try {
        p.validate();
        ADD_FAILURE() << "accepted no_such_call";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_TRUE(contains(e.what(), "'no_such_call' in syscalls_allow")) << e.what();
    }
}

TEST(SecurityPolicy, JsonOverlaysOnlyPresentKeys) {
    auto p = SecurityPolicy::defaults();
    from_json(nlohmann::json::parse(R"({"caps_drop":["sys_admin"]})"), p);
    EXPECT_EQ(p.caps_drop, std::vector<std::string>{"sys_admin"});
    EXPECT_EQ(p.syscalls_deny, SecurityPolicy::defaults().syscalls_deny);
    EXPECT_TRUE(p.deny_forced_umount);
}

TEST(SecurityPolicy, JsonRefusesBadShapes) {
    for (const char* text : {R"([])", R"({"syscall_deny":["bpf"]})", R"({"syscalls_deny":"bpf"})",
                             R"({"caps_drop":[1]})", R"({"deny_forced_umount":"yes"})",
                             R"({"syscalls_allow":"read"})", R"({"deny_compat":1})",
                             R"({"restrict_personality":"linux"})"}) {
        SecurityPolicy p;
        try {
            from_json(nlohmann::json::parse(text), p);
            ADD_FAILURE() << "accepted " << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400) << text;
        }
    }
}

TEST(SecurityPolicy, AppArmorAnswerIsStable) { EXPECT_EQ(apparmor_available(), apparmor_available()); }

// --- the compiled filter ---------------------------------------------------

TEST(Seccomp, CompilesToWholeBpfInstructions) {
    auto program = compile_seccomp(SecurityPolicy::defaults());
    ASSERT_FALSE(program.empty());
    EXPECT_EQ(program.size() % sizeof(struct sock_filter), 0u);

    SecurityPolicy none;
    none.deny_forced_umount = false;
    EXPECT_FALSE(compile_seccomp(none).empty());
}

TEST(Seccomp, CompilesDuplicatesAndUmount2DeniedOutright) {
    auto p = SecurityPolicy::defaults();
    p.syscalls_deny.push_back("kexec_load");
    p.syscalls_deny.push_back("umount2");
    EXPECT_FALSE(compile_seccomp(p).empty());
}

TEST(Seccomp, CompileRefusesUnknownSyscalls) {
    auto p = SecurityPolicy::defaults();
    p.syscalls_deny.push_back("not_a_syscall");
    try {
        compile_seccomp(p);
        ADD_FAILURE() << "compiled an unknown syscall";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_TRUE(contains(e.what(), "'not_a_syscall'")) << e.what();
    }
}

TEST(Seccomp, LoadRefusesMalformedPrograms) {
    EXPECT_EQ(load_seccomp({}), -EINVAL);
    EXPECT_EQ(load_seccomp(std::vector<unsigned char>(sizeof(struct sock_filter) + 1)), -EINVAL);
}

// --- the filter at work, in a child ------------------------------------------

// Arguments are chosen so that a call the filter let through would still be
// refused by the kernel's argument checks: the test runs as root, and must
// never unload a kexec image, load a module or unload one.
constexpr long kexec_bad_flags = 0x8000; // no such KEXEC_* flag: EINVAL, never an unload
constexpr long kexec_too_many_segments = 17; // > KEXEC_SEGMENT_MAX
constexpr long x32_bit = 0x40000000;
// The kernel's i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl).
constexpr long i386_getpid = 20, i386_umount2 = 52, i386_init_module = 128, i386_delete_module = 129,
               i386_kexec_load = 283, i386_open_by_handle_at = 342, i386_finit_module = 350;
// x32 uses the x86_64 numbers for common calls but has its own kexec_load
// (syscall_64.tbl: 528 x32 kexec_load); 246 | x32_bit is just ENOSYS.
constexpr long x32_kexec_load = 528;

// Low memory an i386 call can point into (its pointers are 32 bits).
const char* low_string(const char* s) {
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    std::strcpy(static_cast<char*>(p), s);
    return static_cast<const char*>(p);
}

// An i386 system call from this 64-bit process; returns -errno like the
// kernel does.
long int80(long nr, long a = 0, long b = 0, long c = 0, long d = 0) {
    long ret;
    asm volatile("int $0x80"
                 : "=a"(ret)
                 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                 : "memory", "r8", "r9", "r10", "r11");
    return ret;
}

// Calls made through syscall() return -1/errno; normalise to -errno.
long raw(long ret) { return ret == -1 ? -errno : ret; }

const char* low_nonexistent = nullptr;

struct Call {
    const char* what;
    long (*call)();
    bool denied; // expect EPERM; otherwise expect anything but EPERM
};

const Call calls[] = {
    {"kexec_load", [] { return raw(syscall(SYS_kexec_load, 0, kexec_too_many_segments, 0, kexec_bad_flags)); }, true},
    {"kexec_file_load", [] { return raw(syscall(SYS_kexec_file_load, -1, -1, 0, 0, kexec_bad_flags)); }, true},
    {"init_module", [] { return raw(syscall(SYS_init_module, 0, 0, "")); }, true},
    {"finit_module", [] { return raw(syscall(SYS_finit_module, -1, "", 0)); }, true},
    // '/' can never be in a module's name.
    {"delete_module", [] { return raw(syscall(SYS_delete_module, "lodge/none", 0)); }, true},
    {"open_by_handle_at", [] { return raw(syscall(SYS_open_by_handle_at, -1, 0, 0)); }, true},
    {"umount2 MNT_FORCE", [] { return raw(umount2("/nonexistent", MNT_FORCE)); }, true},
    {"umount2 MNT_FORCE|MNT_DETACH", [] { return raw(umount2("/nonexistent", MNT_FORCE | MNT_DETACH)); }, true},
    {"umount2 0", [] { return raw(umount2("/nonexistent", 0)); }, false},
    {"getpid", [] { return raw(syscall(SYS_getpid)); }, false},

    {"i386 kexec_load", [] { return int80(i386_kexec_load, 0, kexec_too_many_segments, 0, kexec_bad_flags); }, true},
    {"i386 init_module", [] { return int80(i386_init_module, 0, 0, 0); }, true},
    {"i386 finit_module", [] { return int80(i386_finit_module, -1, 0, 0); }, true},
    {"i386 delete_module", [] { return int80(i386_delete_module, 0, 0); }, true},
    {"i386 open_by_handle_at", [] { return int80(i386_open_by_handle_at, -1, 0, 0); }, true},
    {"i386 umount2 MNT_FORCE", [] { return int80(i386_umount2, long(low_nonexistent), MNT_FORCE); }, true},
    {"i386 umount2 0", [] { return int80(i386_umount2, long(low_nonexistent), 0); }, false},
    {"i386 getpid", [] { return int80(i386_getpid); }, false},

    {"x32 kexec_load",
     [] { return raw(syscall(x32_bit | x32_kexec_load, 0, kexec_too_many_segments, 0, kexec_bad_flags)); }, true},
    {"x32 kexec_file_load", [] { return raw(syscall(x32_bit | SYS_kexec_file_load, -1, -1, 0, 0, kexec_bad_flags)); },
     true},
    {"x32 init_module", [] { return raw(syscall(x32_bit | SYS_init_module, 0, 0, "")); }, true},
    {"x32 finit_module", [] { return raw(syscall(x32_bit | SYS_finit_module, -1, "", 0)); }, true},
    {"x32 delete_module", [] { return raw(syscall(x32_bit | SYS_delete_module, "lodge/none", 0)); }, true},
    {"x32 open_by_handle_at", [] { return raw(syscall(x32_bit | SYS_open_by_handle_at, -1, 0, 0)); }, true},
    {"x32 umount2 MNT_FORCE", [] { return raw(syscall(x32_bit | SYS_umount2, "/nonexistent", MNT_FORCE)); }, true},
    // Kernels without x32 answer ENOSYS: still not EPERM, which is the point.
    {"x32 getpid", [] { return raw(syscall(x32_bit | SYS_getpid)); }, false},
};

struct ChildResult {
    int status = -1;
    std::string report; // one line per call that did not behave
};

// Runs every call in a child, with the default filter loaded when `filtered`,
// and collects the calls whose result is not what `expect` says.
template <typename Expect>
ChildResult run_calls(bool filtered, Expect expect) {
    // Built before fork, loaded after it, as the monitor does.
    auto program = compile_seccomp(SecurityPolicy::defaults());
    if (!low_nonexistent) low_nonexistent = low_string("/nonexistent");
    int fds[2];
    if (::pipe(fds) < 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        char line[256];
        if (filtered) {
            if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(100);
            if (int rc = load_seccomp(program); rc < 0) {
                int n = std::snprintf(line, sizeof line, "load_seccomp: %s\n", std::strerror(-rc));
                (void)!::write(fds[1], line, n);
                _exit(101);
            }
        }
        int failures = 0;
        for (const auto& c : calls) {
            long r = c.call();
            if (expect(c, r)) continue;
            ++failures;
            int n = std::snprintf(line, sizeof line, "%s: got %ld (%s)\n", c.what, r,
                                  r < 0 ? std::strerror(int(-r)) : "success");
            (void)!::write(fds[1], line, n);
        }
        _exit(failures);
    }
    ::close(fds[1]);
    ChildResult result;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) result.report.append(buf, n);
    ::close(fds[0]);
    ::waitpid(pid, &result.status, 0);
    return result;
}

// Without int $0x80 (ia32 emulation off) the i386 cases would die of SIGSEGV
// instead of testing the filter.
bool i386_abi_works() {
    pid_t pid = ::fork();
    if (pid == 0) _exit(int80(i386_getpid) == ::getpid() ? 0 : 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(Seccomp, DefaultFilterDeniesOnEveryAbi) {
    if (!i386_abi_works()) GTEST_SKIP() << "this kernel runs no i386 code (ia32 emulation off)";
    auto r = run_calls(true, [](const Call& c, long ret) {
        if (c.denied) return ret == -EPERM;
        if (std::strcmp(c.what, "getpid") == 0) return ret == ::getpid();
        return ret != -EPERM;
    });
    // SIGSYS here is libseccomp's bad-architecture action: an ABI missing
    // from the filter.
    ASSERT_TRUE(WIFEXITED(r.status)) << "child killed by " << strsignal(WTERMSIG(r.status)) << "\n" << r.report;
    EXPECT_EQ(WEXITSTATUS(r.status), 0) << r.report;
}

// The test above only means something if, unfiltered, the same calls are
// not EPERM anyway: as root they reach the kernel's argument checks.
TEST(Seccomp, SameCallsReachTheKernelUnfiltered) {
    if (::geteuid() != 0 || cap_get_bound(CAP_SYS_MODULE) != 1) GTEST_SKIP() << "needs root";
    if (!i386_abi_works()) GTEST_SKIP() << "this kernel runs no i386 code (ia32 emulation off)";
    auto r = run_calls(false, [](const Call&, long ret) { return ret != -EPERM; });
    // SIGSYS here is libseccomp's bad-architecture action: an ABI missing
    // from the filter.
    ASSERT_TRUE(WIFEXITED(r.status)) << "child killed by " << strsignal(WTERMSIG(r.status)) << "\n" << r.report;
    EXPECT_EQ(WEXITSTATUS(r.status), 0) << "EPERM without the filter:\n" << r.report;
}

// --- policies beyond the defaults, in a child ---------------------------------

// Loads the filter compiled for policy in a child and runs body there; the
// child's exit code (body returns the number of surprises, reported on
// stderr), or 200+ when it could not load the filter.
template <typename Body>
int in_filtered_child(const SecurityPolicy& policy, Body body) {
    auto program = compile_seccomp(policy);
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(200);
        // The listener (reboot) is not needed here; without it the kernel
        // answers reboot(2) with ENOSYS.
        if (load_seccomp(program) < 0) _exit(201);
        _exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int expect_result(const char* what, long got, long want) {
    if (got == want) return 0;
    std::fprintf(stderr, "%s: got %ld, want %ld\n", what, got, want);
    return 1;
}

TEST(Seccomp, AllowListDeniesEverythingElse) {
    if (!i386_abi_works()) GTEST_SKIP() << "this kernel runs no i386 code (ia32 emulation off)";
    SecurityPolicy p;
    p.syscalls_allow = {"getpid", "getppid"};
    int rc = in_filtered_child(p, [] {
        int bad = 0;
        bad += expect_result("getpid", raw(syscall(SYS_getpid)), ::getpid());
        bad += expect_result("getuid", raw(syscall(SYS_getuid)), -EPERM);
        bad += expect_result("uname", raw(syscall(SYS_uname, nullptr)), -EPERM);
        bad += expect_result("i386 getpid", int80(i386_getpid), ::getpid());
        bad += expect_result("i386 getuid", int80(24 /* i386 getuid */), -EPERM);
        // The runtime's own calls stay allowed: write and exit are needed
        // to report here at all.
        bad += expect_result("close", raw(syscall(SYS_close, -1)), -EBADF);
        return bad;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Seccomp, AllowListKeepsForcedUmountDenied) {
    SecurityPolicy p;
    p.syscalls_allow = {"umount2"};
    int rc = in_filtered_child(p, [] {
        int bad = 0;
        bad += expect_result("umount2 0", raw(umount2("/nonexistent", 0)), -ENOENT);
        bad += expect_result("umount2 MNT_FORCE", raw(umount2("/nonexistent", MNT_FORCE)), -EPERM);
        return bad;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Seccomp, DenyCompatRefusesTheOtherAbis) {
    if (!i386_abi_works()) GTEST_SKIP() << "this kernel runs no i386 code (ia32 emulation off)";
    auto p = SecurityPolicy::defaults();
    p.deny_compat = true;
    int rc = in_filtered_child(p, [] {
        int bad = 0;
        bad += expect_result("getpid", raw(syscall(SYS_getpid)), ::getpid());
        bad += expect_result("i386 getpid", int80(i386_getpid), -EPERM);
        bad += expect_result("x32 getpid", raw(syscall(x32_bit | SYS_getpid)), -EPERM);
        bad += expect_result("kexec_load", raw(syscall(SYS_kexec_load, 0, kexec_too_many_segments, 0,
                                                       kexec_bad_flags)), -EPERM);
        return bad;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Seccomp, RestrictedPersonalityAllowsOnlyLinuxPersonas) {
    if (!i386_abi_works()) GTEST_SKIP() << "this kernel runs no i386 code (ia32 emulation off)";
    for (bool allow_list : {false, true}) {
        SecurityPolicy p = SecurityPolicy::defaults();
        p.restrict_personality = true;
        if (allow_list) {
            p.syscalls_deny.clear();
            p.syscalls_allow = {"personality", "getpid"};
        }
        int rc = in_filtered_child(p, [] {
            constexpr long i386_personality = 136;
            int bad = 0;
            bad += expect_result("query", raw(syscall(SYS_personality, 0xffffffffUL)), 0);
            bad += expect_result("PER_LINUX", raw(syscall(SYS_personality, 0UL)), 0);
            bad += expect_result("PER_LINUX32", raw(syscall(SYS_personality, 8UL)), 0);
            bad += expect_result("back to PER_LINUX", raw(syscall(SYS_personality, 0UL)), 8);
            bad += expect_result("READ_IMPLIES_EXEC", raw(syscall(SYS_personality, 0x0400000UL)), -EPERM);
            bad += expect_result("ADDR_NO_RANDOMIZE", raw(syscall(SYS_personality, 0x0040000UL)), -EPERM);
            // Only the low 32 bits reach the kernel: high bits hide nothing.
            bad += expect_result("high bits", raw(syscall(SYS_personality, 0x100400000UL)), -EPERM);
            bad += expect_result("i386 READ_IMPLIES_EXEC", int80(i386_personality, 0x0400000), -EPERM);
            bad += expect_result("i386 query", int80(i386_personality, 0xffffffffL), 0);
            return bad;
        });
        EXPECT_EQ(rc, 0) << (allow_list ? "with an allow list" : "with the deny list");
    }
    // Without the restriction, the same persona is the kernel's to set.
    int rc = in_filtered_child(SecurityPolicy::defaults(), [] {
        int bad = expect_result("READ_IMPLIES_EXEC", raw(syscall(SYS_personality, 0x0400000UL)), 0);
        return bad + expect_result("back", raw(syscall(SYS_personality, 0UL)), 0x0400000);
    });
    EXPECT_EQ(rc, 0);
}

// --- the bounding set --------------------------------------------------------

bool has_effective(cap_value_t cap) {
    cap_t caps = cap_get_proc();
    cap_flag_value_t value = CAP_CLEAR;
    if (caps) cap_get_flag(caps, cap, CAP_EFFECTIVE, &value);
    cap_free(caps);
    return value == CAP_SET;
}

TEST(Capabilities, DropBoundingCapsIsIdempotent) {
    if (!has_effective(CAP_SETPCAP) || cap_get_bound(CAP_SYS_MODULE) != 1) GTEST_SKIP() << "needs root";
    pid_t pid = ::fork();
    if (pid == 0) {
        auto p = SecurityPolicy::defaults();
        try {
            drop_bounding_caps(p);
            drop_bounding_caps(p);
        } catch (const Error&) {
            _exit(1);
        }
        bool ok = cap_get_bound(CAP_SYS_MODULE) == 0 && cap_get_bound(CAP_SYS_RAWIO) == 0 &&
                  cap_get_bound(CAP_MAC_OVERRIDE) == 0 && cap_get_bound(CAP_SYS_ADMIN) == 1;
        _exit(ok ? 0 : 2);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Capabilities, DropRefusesUnknownNamesBeforeDroppingAny) {
    int before = cap_get_bound(CAP_SYS_MODULE);
    SecurityPolicy p;
    p.caps_drop = {"sys_module", "no_such_cap"};
    try {
        drop_bounding_caps(p);
        ADD_FAILURE() << "dropped an unknown capability";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
    }
    // Nothing was dropped in this (test-runner) process.
    EXPECT_EQ(cap_get_bound(CAP_SYS_MODULE), before);
}

} // namespace
} // namespace lodge::runtime
