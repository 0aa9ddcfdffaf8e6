#include "common/command.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lodge {

CommandResult run_command(const std::string& binary, const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int out[2];
    check(::pipe2(out, O_CLOEXEC), "pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        ::close_range(3, ~0U, 0);
        ::execv(binary.c_str(), args.data());
        ::_exit(127);
    }
    out_w.reset();
    CommandResult r;
    r.output = read_to_eof(out_r.get());
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r.status == 127 && r.output.empty()) r.output = "cannot run " + binary;
    return r;
}

} // namespace lodge
