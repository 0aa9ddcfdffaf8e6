// Putting a mount into a container's mount namespace from the host so that
// the guest can't change its flags (see inject_locked_mount).
#include "runtime/inject.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/device_nodes.hpp"
#include "common/path.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace lodge::runtime {

namespace {

// Error(status, message) from a helper process, as "STATUS MESSAGE".
void report_error(int fd, const Error& e) {
    std::string msg = std::to_string(e.status()) + " " + e.what();
    (void)!::write(fd, msg.data(), msg.size());
}

} // namespace

[[noreturn]] void refuse_path(const std::string& what, const std::string& path, const SystemError& e) {
    if (e.code() == ELOOP || e.code() == ENOTDIR || e.code() == EXDEV)
        throw Error(400, what + " " + path + " inside the container is (or passes through) a symlink or not a directory");
    throw e;
}

void inject_locked_mount(int userns, int mntns, const std::string& park_dir, int tree, const std::string& target,
                         bool directory) {
    int pipefd[2];
    check(::pipe2(pipefd, O_CLOEXEC), "pipe");
    UniqueFd report_r(pipefd[0]), report_w(pipefd[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        try {
            if (::unshare(CLONE_NEWNS) < 0) throw_errno("unshare a mount namespace");
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) throw_errno("make / private");
            // The parking place: a tmpfs over the run directory, seen by
            // this helper only.
            if (::mount("tmpfs", park_dir.c_str(), "tmpfs", MS_NOSUID, "mode=0711,size=16k") < 0)
                throw_errno("mount a tmpfs for the helper");
            if (::chdir(park_dir.c_str()) < 0) throw_errno("chdir " + park_dir);
            if (directory ? ::mkdir("parked", 0700) < 0 : ::mknod("parked", S_IFREG | 0600, 0) < 0)
                throw_errno("make the parking place");
            if (sys::move_mount(tree, "", AT_FDCWD, "parked", MOVE_MOUNT_F_EMPTY_PATH) < 0) throw_errno("park the mount");
            if (::setns(userns, CLONE_NEWUSER) < 0) throw_errno("join the container's user namespace");
            ::setgroups(0, nullptr);
            if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) throw_errno("become the container's root");
            // The copy: cwd moves along to the copy of the tmpfs.
            if (::unshare(CLONE_NEWNS) < 0) throw_errno("unshare a mount namespace of the container's user namespace");
            UniqueFd locked(sys::open_tree(AT_FDCWD, "parked",
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (directory ? AT_RECURSIVE : 0)));
            if (!locked) throw_errno("clone the parked mount");
            if (::setns(mntns, CLONE_NEWNS) < 0) throw_errno("enter the container's mount namespace");
            UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!root) throw_errno("open the container's root");
            UniqueFd dst;
            try {
                dst = directory ? make_dir_in_root(root.get(), target) : make_file_in_root(root.get(), target);
            } catch (const SystemError& e) {
                refuse_path(directory ? "mount target" : "device path", target, e);
            }
            move_onto(locked.get(), dst.get(), target);
            ::_exit(0);
        } catch (const Error& e) {
            report_error(report_w.get(), e);
        } catch (const std::exception& e) {
            report_error(report_w.get(), Error(e.what()));
        }
        ::_exit(1);
    }
    report_w.reset();
    std::string reply = read_to_eof(report_r.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!reply.empty()) {
        auto space = reply.find(' ');
        throw Error(std::atoi(reply.substr(0, space).c_str()), reply.substr(space + 1));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("the mount helper for " + target + " failed");
}

void move_onto(int tree, int target, const std::string& what) {
    if (sys::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("mount " + what);
}

} // namespace lodge::runtime
