// Running the helper programs of a VM import (qemu-img, e2fsck, xfs_repair,
// btrfs check) on untrusted disks, confined with Landlock so that whatever a
// hostile image makes them try, they read only the files listed and write
// only the files listed.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lodge::vm {

// Files or directories (a directory covers everything beneath it) the
// program may read, and those it may also write. The program's own binary,
// /usr, /lib*, /etc/ld.so.cache, /dev/null, /dev/zero, /dev/urandom,
// /proc/self and /sys/devices/system/{cpu,node} are always readable.
struct Confinement {
    std::vector<std::string> read;
    std::vector<std::string> write;
    // Capabilities (CAP_* numbers) the program keeps; none by default. The
    // one known need: xfs_repair on a block device (a loop device) fails
    // unless it can BLKFLSBUF, which takes CAP_SYS_ADMIN; on a regular file
    // it needs none.
    std::vector<int> capabilities;
};

struct RunResult {
    int exit_status = 0;   // the exit code, or 128 + the signal that killed it
    std::string output;    // stdout and stderr together (the last MiB)
    bool confined = false; // false only when the kernel has no Landlock
    std::string note;      // why it ran unconfined, when it did
};

// Runs argv (argv[0] a path or a name looked up in /usr/sbin, /usr/bin,
// /sbin, /bin) with stdin on /dev/null, no other inherited fds, no
// capabilities (root stays uid 0 but without any capability, and cannot
// regain them by exec), no new privileges, LC_ALL=C, killed when the
// calling thread dies (PR_SET_PDEATHSIG), and Landlock rules
// from `confinement` (no TCP, no signals or abstract sockets outside itself
// when the kernel can say so). on_line gets each line of output as it comes
// (lines end at \n or \r, as progress bars redraw with \r). Throws Error when
// the program cannot be started or confined; a kernel without Landlock
// (ENOSYS, EOPNOTSUPP) runs it unconfined with a note.
RunResult run_confined(const std::vector<std::string>& argv, const Confinement& confinement,
                       const std::function<void(std::string_view line)>& on_line = {});

} // namespace lodge::vm
