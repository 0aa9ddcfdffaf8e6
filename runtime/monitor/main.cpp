// lodge-monitor NAME RUN_DIR: creates the container described by
// RUN_DIR/NAME/config.json, tells its starter on fd 3 ("ok INIT MONITOR" or
// "error MESSAGE"), then supervises it until init exits.
#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/console.hpp"
#include "runtime/monitor/supervisor.hpp"
#include "runtime/monitor_client.hpp"
#include "runtime/start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

using namespace lodge;
using namespace lodge::runtime;

namespace {

UniqueFd listen_on(const std::string& path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) throw_errno("socket");
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_errno("bind " + path);
    ::chmod(path.c_str(), 0600);
    if (::listen(s.get(), 64) < 0) throw_errno("listen " + path);
    return s;
}

void report(const std::string& msg) {
    (void)!::write(3, msg.data(), msg.size());
    ::close(3);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: lodge-monitor NAME RUN_DIR (started by lodge, not by hand)\n");
        return 2;
    }
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(s, SIG_IGN);
    ::umask(022);
    if (::chdir("/") < 0) return 1;

    std::string name = argv[1], run_dir = argv[2];
    std::string dir = container_run_dir(run_dir, name);
    std::unique_ptr<monitor::Supervisor> sup;
    try {
        ContainerConfig cfg = nlohmann::json::parse(read_file(dir + "/config.json")).get<ContainerConfig>();
        Pty pty = open_console_pty();
        UniqueFd listener = listen_on(dir + "/monitor.sock");
        RunningContainer rc;
        try {
            rc = start_container(cfg, pty.slave_path);
        } catch (...) {
            ::unlink((dir + "/monitor.sock").c_str());
            throw;
        }
        write_file_atomic(dir + "/seccomp.bpf", std::string(rc.seccomp.begin(), rc.seccomp.end()), 0600);
        pid_t init = rc.init_pid;
        sup = std::make_unique<monitor::Supervisor>(std::move(cfg), dir, std::move(rc), std::move(pty.master),
                                                    std::move(listener));
        report("ok " + std::to_string(init) + " " + std::to_string(::getpid()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s\n", name.c_str(), e.what());
        report(std::string("error ") + e.what());
        return 1;
    }
    try {
        nlohmann::json exit = sup->run();
        std::fprintf(stderr, "lodge-monitor %s: init ended: %s\n", name.c_str(), exit.dump().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lodge-monitor %s: %s\n", name.c_str(), e.what());
        return 1;
    }
    return 0;
}
