// Placeholder: runs the program without confinement.
#include "images/vm/confine.hpp"

#include "common/error.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lodge::vm {

RunResult run_confined(const std::vector<std::string>& argv, const Confinement&,
                       const std::function<void(std::string_view line)>&) {
    int pipefd[2];
    check(::pipe2(pipefd, O_CLOEXEC), "pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipefd[1], 1);
        ::dup2(pipefd[1], 2);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(pipefd[1]);
    RunResult r;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) r.output.append(buf, n);
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

} // namespace lodge::vm
