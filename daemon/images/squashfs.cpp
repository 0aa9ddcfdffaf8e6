// Squashfs to tar through sqfs2tar, spawned with a fixed argv (see
// squashfs.hpp for why a tar stream and not an unsquashed directory).
#include "daemon/images/squashfs.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>

namespace lodge::daemon {

namespace {

constexpr const char* sqfs2tar = "/usr/bin/sqfs2tar";

// The child: sqfs2tar parses the untrusted squashfs, so it runs as nobody
// with no new privileges, the image on stdin (reopened through
// /proc/self/fd/0, which is why the file is readable by others while it
// converts), the tar to stdout, and a file size limit that stops a bomb
// before it fills the disk. Only raw system calls between fork and exec.
[[noreturn]] void run_child(int squashfs_fd, int out_fd, int err_fd, std::int64_t max_output) {
    constexpr long nobody = 65534;
    if (::dup2(squashfs_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    // SIGXFSZ must end it even if lodged blocks or ignores signals.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigset_t none;
    sigemptyset(&none);
    if (::sigaction(SIGXFSZ, &dfl, nullptr) != 0 || ::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) ::_exit(126);
    struct rlimit fsize {static_cast<rlim_t>(max_output), static_cast<rlim_t>(max_output)};
    if (::setrlimit(RLIMIT_FSIZE, &fsize) != 0) ::_exit(126);
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, nobody, nobody, nobody) != 0 ||
        ::syscall(SYS_setresuid, nobody, nobody, nobody) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        ::_exit(126);
    char arg0[] = "sqfs2tar", skip[] = "--no-skip", root[] = "--root-becomes", dot[] = ".", end[] = "--",
         path[] = "/proc/self/fd/0";
    char* argv[] = {arg0, skip, root, dot, end, path, nullptr};
    char* envp[] = {nullptr};
    ::execve(sqfs2tar, argv, envp);
    ::_exit(127);
}

} // namespace

bool is_squashfs(std::string_view data) {
    return data.substr(0, 4) == "hsqs";
}

void squashfs_to_tar(int squashfs_fd, int out_fd, std::int64_t max_output) {
    if (::access(sqfs2tar, X_OK) != 0)
        throw Error(500, std::string("Cannot read squashfs images: ") + sqfs2tar +
                             " is missing (install squashfs-tools-ng)");
    // sqfs2tar's complaints, kept for the error message.
    UniqueFd errors(::memfd_create("sqfs2tar-stderr", MFD_CLOEXEC));
    if (!errors) throw_errno("memfd_create");
    struct stat st {};
    if (::fstat(squashfs_fd, &st) != 0 || ::fchmod(squashfs_fd, 0644) != 0) throw_errno("prepare the squashfs");
    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork for sqfs2tar");
    if (pid == 0) run_child(squashfs_fd, out_fd, errors.get(), max_output);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("wait for sqfs2tar");
    ::fchmod(squashfs_fd, st.st_mode & 07777);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ)
        throw Error(400, "Image rootfs squashfs unpacks to more than " + std::to_string(max_output) +
                             " bytes (the image size limit)");
    ::lseek(errors.get(), 0, SEEK_SET);
    auto message = read_to_eof(errors.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    if (message.size() > 2000) message.resize(2000);
    if (message.empty())
        message = WIFEXITED(status) ? "sqfs2tar exited with " + std::to_string(WEXITSTATUS(status))
                                    : "sqfs2tar was killed by signal " + std::to_string(WTERMSIG(status));
    throw Error(400, "Image rootfs squashfs unreadable: " + message);
}

} // namespace lodge::daemon
