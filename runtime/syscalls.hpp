// Thin wrappers for the system calls glibc 2.36 does not wrap (clone3, the
// new mount API, pidfds, pivot_root). Each returns what the syscall returns
// and sets errno, like libc.
#pragma once

#include "common/pidfd.hpp"

#include <linux/mount.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>

namespace lodge::runtime::sys {

// clone3 without a new stack: the child returns 0 on a copy of the parent's
// stack, as with fork(2).
inline pid_t clone3(struct clone_args& args) {
    return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

using lodge::pidfd_open;
using lodge::pidfd_send_signal;

inline int open_tree(int dirfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}

inline int move_mount(int from_dirfd, const char* from, int to_dirfd, const char* to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags));
}

inline int mount_setattr(int dirfd, const char* path, unsigned flags, struct mount_attr* attr) {
    return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof *attr));
}

inline int pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

inline int close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

} // namespace lodge::runtime::sys
