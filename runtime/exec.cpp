#include "runtime/exec.hpp"

#include "common/error.hpp"
#include "runtime/message.hpp"
#include "runtime/monitor_client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace lodge::runtime {

ExecSession start_exec(const std::string& run_dir, const std::string& name, const ExecRequest& req) {
    ExecSession s;
    auto client = MonitorClient::connect(run_dir, name);
    std::vector<int> fds;
    UniqueFd null;
    if (!req.pty) {
        for (int fd : {req.stdin_fd, req.stdout_fd, req.stderr_fd}) {
            if (fd < 0) {
                if (!null) null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
                fd = null.get();
            }
            fds.push_back(fd);
        }
    }
    send_message(client.fd(), encode_exec_request(req), fds);
    std::string reply = recv_message(client.fd(), &s.pty);
    if (reply.rfind("pid ", 0) != 0) {
        auto j = nlohmann::json::parse(reply.empty() ? "{\"error\":\"the monitor closed the connection\"}" : reply);
        throw Error(j.value("status", 500), j.value("error", std::string("exec failed")));
    }
    s.pid = static_cast<pid_t>(std::stol(reply.substr(4)));
    s.sock = MonitorClient::release(std::move(client));
    return s;
}

int wait_exec(ExecSession& s) {
    std::string reply = recv_message(s.sock.get());
    int status = -1;
    if (std::sscanf(reply.c_str(), "exit %d", &status) != 1)
        throw Error("lost the monitor before the command ended");
    s.sock.reset();
    return status;
}

} // namespace lodge::runtime
