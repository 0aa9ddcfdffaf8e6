// Helper programs for pool creation, spawned directly (posix_spawn keeps the
// daemon's threads out of the child's way) with their output captured for
// the error message.
#include "storage/program.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lodge::storage {

namespace {

std::string find_program(const std::string& name) {
    for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
        std::string path = dir + name;
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    throw Error(500, name + " is not installed");
}

} // namespace

void run_program(const std::vector<std::string>& argv) {
    const std::string path = find_program(argv.at(0));
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UniqueFd null(null_fd);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char* env[] = {env_path, nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, args.data(), env);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw SystemError("starting " + path, rc);
    write_end.reset();
    const std::string output = read_to_eof(read_end.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw_errno("waiting for " + path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    throw Error(500, argv[0] + " failed (status " + std::to_string(status) + "): " + output);
}

} // namespace lodge::storage
