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
#include <memory>

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

int resolve_syscall(const std::string& name) {
    // An empty name resolves to nothing anyway, but libseccomp would also
    // accept a number written as a name on some versions: insist on a name.
    bool looks_like_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    }) && !(name[0] >= '0' && name[0] <= '9');
    int nr = looks_like_name ? seccomp_syscall_resolve_name(name.c_str()) : __NR_SCMP_ERROR;
    if (nr == __NR_SCMP_ERROR)
        throw Error(400, "security policy: unknown syscall '" + name + "' in syscalls_deny");
    return nr;
}

void check_rc(int rc, const std::string& what) {
    // libseccomp returns -errno rather than setting errno.
    if (rc < 0) throw SystemError("seccomp: " + what, -rc);
}

void add_arches(scmp_filter_ctx ctx) {
    uint32_t native = seccomp_arch_native();
    for (const auto& c : companion_arches) {
        if (c.native != native) continue;
        for (uint32_t arch : c.others) {
            if (arch == 0) continue;
            int rc = seccomp_arch_add(ctx, arch);
            if (rc != -EEXIST) check_rc(rc, "adding architecture " + std::to_string(arch));
        }
    }
}

void add_rules(scmp_filter_ctx ctx, const SecurityPolicy& policy) {
    bool umount2_denied = false;
    for (const auto& name : policy.syscalls_deny) {
        int nr = resolve_syscall(name);
        umount2_denied |= name == "umount2";
        // A syscall that one of the filter's ABIs lacks (kexec_file_load on
        // i386) is skipped for that ABI by libseccomp, which is what we want.
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), "denying " + name);
    }
    // i386's old umount(2) has no flags and cannot force, so only umount2
    // needs the rule. When umount2 is denied outright the rule is redundant.
    // reboot(2) goes to the monitor (see security.hpp); a policy that denies
    // reboot outright keeps its denial.
    if (std::find(policy.syscalls_deny.begin(), policy.syscalls_deny.end(), "reboot") == policy.syscalls_deny.end())
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(reboot), 0), "passing reboot to the monitor");
    if (policy.deny_forced_umount && !umount2_denied)
        check_rc(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(umount2), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, MNT_FORCE)),
                 "denying forced umount2");
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
void validate_syscall_names(const std::vector<std::string>& names) {
    for (const auto& name : names) resolve_syscall(name);
}
} // namespace detail

std::vector<unsigned char> compile_seccomp(const SecurityPolicy& policy) {
    Filter ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) throw Error("seccomp: libseccomp could not create a filter");
    add_arches(ctx.get());
    add_rules(ctx.get(), policy);
    return export_program(ctx.get());
}

} // namespace lodge::runtime
