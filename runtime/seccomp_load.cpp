// Loading a compiled seccomp program: no libseccomp needed, so the monitor's
// small supervisor binary can carry it for exec.
#include "runtime/security.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace lodge::runtime {

int load_seccomp(const std::vector<unsigned char>& program, bool listen) noexcept {
    std::size_t count = program.size() / sizeof(struct sock_filter);
    if (count == 0 || count > BPF_MAXINSNS || program.size() % sizeof(struct sock_filter) != 0) return -EINVAL;
    // The kernel copies the program; it only reads through this pointer.
    // vector storage comes from operator new, aligned for sock_filter.
    struct sock_fprog prog {};
    prog.len = static_cast<unsigned short>(count);
    prog.filter = reinterpret_cast<struct sock_filter*>(const_cast<unsigned char*>(program.data()));
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, listen ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
    if (rc < 0) return -errno;
    return listen ? static_cast<int>(rc) : 0;
}

} // namespace lodge::runtime
