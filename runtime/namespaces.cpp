#include "runtime/namespaces.hpp"

#include "common/error.hpp"
#include "runtime/syscalls.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

namespace lodge::runtime {

namespace {

UniqueFd open_ns(pid_t pid, const char* which) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + which;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    return fd;
}

} // namespace

NamespaceSet make_namespaces(const IdMap& map, bool privileged) {
    int ready[2], go[2];
    check(::pipe2(ready, O_CLOEXEC), "pipe");
    UniqueFd ready_r(ready[0]), ready_w(ready[1]);
    check(::pipe2(go, O_CLOEXEC), "pipe");
    UniqueFd go_r(go[0]), go_w(go[1]);

    // Made in one clone, the net, uts and ipc namespaces belong to the new
    // user namespace.
    struct clone_args args = {};
    args.flags = CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | (privileged ? 0 : CLONE_NEWUSER);
    args.exit_signal = SIGCHLD;
    pid_t pid = sys::clone3(args);
    if (pid < 0) throw_errno("clone3 namespace helper");
    if (pid == 0) {
        char c = 'k';
        (void)!::write(ready_w.get(), &c, 1);
        (void)!::read(go_r.get(), &c, 1); // until the parent has what it needs
        ::_exit(0);
    }
    auto reap = [&] {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    };
    try {
        ready_w.reset();
        char c = 0;
        if (::read(ready_r.get(), &c, 1) != 1) throw Error("the namespace helper ended early");
        NamespaceSet ns;
        if (!privileged) {
            write_idmap(pid, map);
            ns.user = open_ns(pid, "user");
        }
        ns.net = open_ns(pid, "net");
        ns.uts = open_ns(pid, "uts");
        ns.ipc = open_ns(pid, "ipc");
        reap();
        return ns;
    } catch (...) {
        reap();
        throw;
    }
}

} // namespace lodge::runtime
