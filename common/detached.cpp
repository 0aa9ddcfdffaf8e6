#include "common/detached.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace lodge {

std::string run_detached(const std::string& binary, const std::vector<std::string>& argv, const std::string& log, bool truncate_log) {
    // Everything the child needs is made before the fork.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string failed = "error cannot run " + binary;
    const int log_flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate_log ? O_TRUNC : 0);

    int status[2];
    check(::pipe2(status, O_CLOEXEC), "pipe");
    UniqueFd status_r(status[0]), status_w(status[1]);
    pid_t first = ::fork();
    if (first < 0) throw_errno("fork");
    if (first == 0) {
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        int logfd = ::open(log.c_str(), log_flags, 0600);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(logfd >= 0 ? logfd : null, 2);
        if (status_w.get() == 3)
            ::fcntl(3, F_SETFD, 0);
        else
            ::dup2(status_w.get(), 3); // dup2 clears CLOEXEC on the copy
        // Nothing else of the starter gets through: a daemon's listening
        // socket inherited here would keep answering after the daemon died.
        ::close_range(4, ~0U, 0);
        ::execv(binary.c_str(), args.data());
        (void)!::write(3, failed.data(), failed.size());
        ::_exit(127);
    }
    status_w.reset();
    ::waitpid(first, nullptr, 0);
    return read_to_eof(status_r.get());
}

} // namespace lodge
