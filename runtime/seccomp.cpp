// The seccomp side of the security policy: compiles the policy to a BPF
// program with libseccomp ahead of time, and loads that program with the
// bare seccomp(2) syscall so loading can happen between fork and exec.
#include "runtime/security.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <iterator>
#include <memory>
#include <set>

namespace lodge::runtime {

namespace {

// ABIs the kernel accepts from a process of the native one. Each must be in
// the filter: a rule only covers the ABIs the filter knows, and a process can
// switch ABI at will (int $0x80 for i386, the 0x40000000 bit for x32).
struct CompanionArches {
    uint32_t native;
    uint32_t others[2];
};

constexpr CompanionArches companion_arches[] = {
    {SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
    {SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM, 0}},
};

struct FilterDeleter {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

int resolve_syscall(const std::string& name, const char* field) {
    // An empty name resolves to nothing anyway, but libseccomp would also
    // accept a number written as a name on some versions: insist on a name.
    bool looks_like_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    }) && !(name[0] >= '0' && name[0] <= '9');
    int nr = looks_like_name ? seccomp_syscall_resolve_name(name.c_str()) : __NR_SCMP_ERROR;
    if (nr == __NR_SCMP_ERROR)
        throw Error(400, "security policy: unknown syscall '" + name + "' in " + field);
    return nr;
}

void check_rc(int rc, const std::string& what) {
    // libseccomp returns -errno rather than setting errno.
    if (rc < 0) throw SystemError("seccomp: " + what, -rc);
}

// The companion ABIs of the native one (none on an architecture we don't
// know of).
std::vector<uint32_t> companions() {
    uint32_t native = seccomp_arch_native();
    std::vector<uint32_t> out;
    for (const auto& c : companion_arches)
        if (c.native == native)
            for (uint32_t arch : c.others)
                if (arch != 0) out.push_back(arch);
    return out;
}

// With deny_compat the companion ABIs stay out of the filter, and what a
// filter does not know gets its bad-architecture action: EPERM instead of
// the default kill. libseccomp's x86_64 code also sends the x32 bit there
// when x32 is not in the filter.
void set_arches(scmp_filter_ctx ctx, bool deny_compat) {
    if (deny_compat) {
        check_rc(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)),
                 "answering other ABIs with EPERM");
        return;
    }
    for (uint32_t arch : companions()) {
        int rc = seccomp_arch_add(ctx, arch);
        if (rc != -EEXIST) check_rc(rc, "adding architecture " + std::to_string(arch));
    }
}

bool listed(const std::vector<std::string>& names, const char* name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// reboot(2) goes to the monitor (see security.hpp); a deny list that names
// reboot keeps its denial.
void pass_reboot_to_monitor(scmp_filter_ctx ctx) {
    check_rc(seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(reboot), 0), "passing reboot to the monitor");
}

void add_deny_rules(scmp_filter_ctx ctx, const SecurityPolicy& policy) {
    for (const auto& name : policy.syscalls_deny) {
        int nr = resolve_syscall(name, "syscalls_deny");
        // A syscall that one of the filter's ABIs lacks (kexec_file_load on
        // i386) is skipped for that ABI by libseccomp, which is what we want.
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), "denying " + name);
    }
    // i386's old umount(2) has no flags and cannot force, so only umount2
    // needs the rule. When umount2 is denied outright the rule is redundant.
    if (!listed(policy.syscalls_deny, "reboot")) pass_reboot_to_monitor(ctx);
    if (policy.deny_forced_umount && !listed(policy.syscalls_deny, "umount2"))
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(umount2), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, MNT_FORCE)),
                 "denying forced umount2");
}

void add_allow_rules(scmp_filter_ctx ctx, const SecurityPolicy& policy) {
    std::set<std::string> names(policy.syscalls_allow.begin(), policy.syscalls_allow.end());
    names.insert(runtime_allowed_syscalls().begin(), runtime_allowed_syscalls().end());
    for (const auto& name : names) {
        int nr = resolve_syscall(name, "syscalls_allow");
        // reboot always goes to the monitor; a forced umount2 stays denied
        // when the policy says so, whatever the list allows.
        if (name == "reboot") continue;
        if (name == "umount2" && policy.deny_forced_umount) {
            check_rc(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, 0)),
                     "allowing umount2 without MNT_FORCE");
            continue;
        }
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0), "allowing " + name);
    }
    pass_reboot_to_monitor(ctx);
}

// personality(2) with a persona other than PER_LINUX, PER_LINUX32 or the
// query answered with EPERM. libseccomp cannot say "none of these values"
// in a filter whose default is to allow (it takes one comparison per
// argument and refuses allow rules there), so this is a few instructions of
// plain BPF put before libseccomp's program: they either return EPERM or
// fall through into it (its jumps are relative, so it is unchanged). The
// kernel takes the persona as an unsigned int: only the low 32 bits of the
// argument count.
constexpr uint32_t allowed_personas[] = {0x0000 /* PER_LINUX */, 0x0008 /* PER_LINUX32 */,
                                         0xffffffff /* query */};

std::vector<struct sock_filter> personality_guard() {
    // (arch as the kernel reports it, syscall number) for every ABI, the
    // companions included even when deny_compat refuses them anyway.
    std::vector<std::pair<uint32_t, uint32_t>> calls;
    std::vector<uint32_t> arches = companions();
    arches.insert(arches.begin(), seccomp_arch_native());
    for (uint32_t arch : arches) {
        int nr = seccomp_syscall_resolve_name_arch(arch, "personality");
        if (nr < 0) continue;
        // x32 calls reach the filter as x86_64 ones with the x32 bit set in
        // the number (libseccomp's x32 numbers carry it already).
        calls.emplace_back(arch == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : arch, static_cast<uint32_t>(nr));
    }
    constexpr uint32_t arg0_low = offsetof(struct seccomp_data, args) + (__BYTE_ORDER == __LITTLE_ENDIAN ? 0 : 4);
    std::vector<struct sock_filter> out;
    const auto n = static_cast<uint8_t>(calls.size());
    for (uint8_t i = 0; i < n; ++i) {
        out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, calls[i].first, 0, 2));
        out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
        // To the argument check right after the last block's "ja".
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, calls[i].second, static_cast<uint8_t>(4 * (n - i) - 3), 0));
    }
    constexpr uint8_t checks = std::size(allowed_personas);
    out.push_back(BPF_STMT(BPF_JMP | BPF_JA, checks + 2)); // not personality: into libseccomp's program
    out.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg0_low));
    for (uint8_t i = 0; i < checks; ++i)
        out.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, allowed_personas[i], static_cast<uint8_t>(checks - i), 0));
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)));
    return out;
}

// libseccomp 2.5 (Debian 12) can only export to a file descriptor; 2.6's
// seccomp_export_bpf_mem would spare the memfd.
std::vector<unsigned char> export_program(scmp_filter_ctx ctx) {
    UniqueFd fd(::memfd_create("lodge-seccomp", MFD_CLOEXEC));
    if (!fd) throw_errno("seccomp: memfd_create");
    check_rc(seccomp_export_bpf(ctx, fd.get()), "exporting the filter");
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) throw_errno("seccomp: fstat of the exported filter");
    std::vector<unsigned char> program(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < program.size()) {
        ssize_t n = ::pread(fd.get(), program.data() + done, program.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("seccomp: reading the exported filter");
        if (n == 0) throw Error("seccomp: exported filter shrank while being read");
        done += static_cast<std::size_t>(n);
    }
    if (program.empty() || program.size() % sizeof(struct sock_filter) != 0)
        throw Error("seccomp: libseccomp exported a malformed program of " + std::to_string(program.size()) +
                    " bytes");
    return program;
}

} // namespace

namespace detail {
void validate_syscall_names(const std::vector<std::string>& names, const char* field) {
    for (const auto& name : names) resolve_syscall(name, field);
}
} // namespace detail

std::vector<unsigned char> compile_seccomp(const SecurityPolicy& policy) {
    policy.validate();
    bool allow_list = !policy.syscalls_allow.empty();
    Filter ctx(seccomp_init(allow_list ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW));
    if (!ctx) throw Error("seccomp: libseccomp could not create a filter");
    set_arches(ctx.get(), policy.deny_compat);
    if (allow_list) {
        // Hundreds of rules: a binary search on the number instead of a
        // chain every call walks.
        check_rc(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "asking for a binary tree");
        add_allow_rules(ctx.get(), policy);
    } else {
        add_deny_rules(ctx.get(), policy);
    }
    auto program = export_program(ctx.get());
    if (!policy.restrict_personality) return program;
    auto guard = personality_guard();
    auto* bytes = reinterpret_cast<const unsigned char*>(guard.data());
    program.insert(program.begin(), bytes, bytes + guard.size() * sizeof(struct sock_filter));
    return program;
}

} // namespace lodge::runtime
