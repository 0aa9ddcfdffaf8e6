// Squashfs to tar through sqfs2tar, spawned with a fixed argv (see
// squashfs.hpp for why a tar stream and not an unsquashed directory).
#include "daemon/images/squashfs.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lodge::daemon {

namespace {

constexpr const char* sqfs2tar = "/usr/bin/sqfs2tar";

struct SpawnActions {
    SpawnActions() { posix_spawn_file_actions_init(&actions); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    posix_spawn_file_actions_t actions;
};

} // namespace

bool is_squashfs(std::string_view data) {
    return data.substr(0, 4) == "hsqs";
}

void squashfs_to_tar(const std::string& squashfs, int out_fd) {
    if (::access(sqfs2tar, X_OK) != 0)
        throw Error(500, std::string("Cannot read squashfs images: ") + sqfs2tar +
                             " is missing (install squashfs-tools-ng)");
    // sqfs2tar's complaints, kept for the error message.
    UniqueFd errors(::memfd_create("sqfs2tar-stderr", MFD_CLOEXEC));
    if (!errors) throw_errno("memfd_create");
    SpawnActions fa;
    posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa.actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa.actions, errors.get(), 2);
    // --root-becomes . keeps the root directory's mode and owner as a "."
    // entry; --no-skip fails on files tar cannot hold instead of leaving
    // them out silently.
    std::string path = squashfs;
    char arg0[] = "sqfs2tar", skip[] = "--no-skip", root[] = "--root-becomes", dot[] = ".", end[] = "--";
    char* argv[] = {arg0, skip, root, dot, end, path.data(), nullptr};
    char* envp[] = {nullptr};
    pid_t pid = 0;
    if (int rc = posix_spawn(&pid, sqfs2tar, &fa.actions, nullptr, argv, envp); rc != 0) {
        errno = rc;
        throw_errno(std::string("spawn ") + sqfs2tar);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("wait for sqfs2tar");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    ::lseek(errors.get(), 0, SEEK_SET);
    auto message = read_to_eof(errors.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    if (message.size() > 2000) message.resize(2000);
    throw Error(400, "Image rootfs squashfs unreadable: " + (message.empty() ? "sqfs2tar failed" : message));
}

} // namespace lodge::daemon
