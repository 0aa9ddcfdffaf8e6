#include "runtime/monitor_client.hpp"

#include "common/detached.hpp"
#include "common/error.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace lodge::runtime {

namespace {

std::string monitor_binary() {
    if (const char* env = std::getenv("LODGE_MONITOR"); env && *env) return env;
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) throw_errno("readlink /proc/self/exe");
    self[n] = 0;
    std::string dir(self);
    return dir.substr(0, dir.find_last_of('/')) + "/lodge-monitor";
}

} // namespace

std::string container_run_dir(const std::string& run_dir, const std::string& name) { return run_dir + "/" + name; }

std::string monitor_socket_path(const std::string& run_dir, const std::string& name) {
    return container_run_dir(run_dir, name) + "/monitor.sock";
}

MonitorClient MonitorClient::connect(const std::string& run_dir, const std::string& name) {
    std::string path = monitor_socket_path(run_dir, name);
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error(400, "run directory path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED) throw Error(404, "container '" + name + "' is not running");
        throw_errno("connect " + path);
    }
    return MonitorClient(std::move(s));
}

std::string cgroup_list_path(const std::string& run_dir, const std::string& name) {
    return container_run_dir(run_dir, name) + "/cgroups";
}

std::string MonitorClient::call_raw(const std::string& request) {
    send_message(sock_.get(), request);
    return recv_message(sock_.get());
}

nlohmann::json MonitorClient::call(const std::string& request) {
    UniqueFd ignored;
    return call(request, ignored);
}

nlohmann::json MonitorClient::call(const std::string& request, UniqueFd& fd_out) {
    try {
        send_message(sock_.get(), request);
    } catch (const SystemError& e) {
        if (e.code() == EPIPE || e.code() == ECONNRESET) throw Error(404, "the container has just stopped");
        throw;
    }
    std::string reply = recv_message(sock_.get(), &fd_out);
    // The monitor closes its connections only when init has ended.
    if (reply.empty()) throw Error(404, "the container has just stopped");
    auto j = nlohmann::json::parse(reply);
    if (j.contains("error")) throw Error(j.value("status", 500), j["error"].get<std::string>());
    return j;
}

Launched launch_container(const ContainerConfig& cfg, const std::string& run_dir) {
    cfg.validate();
    std::string dir = container_run_dir(run_dir, cfg.name);
    try {
        MonitorClient::connect(run_dir, cfg.name);
        throw Error(409, "container '" + cfg.name + "' is already running");
    } catch (const Error& e) {
        if (e.status() != 404) throw;
    }
    make_dirs(run_dir, 0711);
    make_dirs(dir, 0700);
    for (const char* stale : {"/monitor.sock", "/exit.json", "/console.log", "/cgroups", "/caps-drop"}) ::unlink((dir + stale).c_str());
    nlohmann::json j = cfg;
    write_file_atomic(dir + "/config.json", j.dump(), 0600);

    std::string monitor = monitor_binary();
    std::string log = dir + "/monitor.log";
    // Detached, so it outlives whoever started it.
    std::string reply = run_detached(monitor, {"lodge-monitor", cfg.name, run_dir}, log, true);
    Launched l{};
    if (std::sscanf(reply.c_str(), "ok %d %d", &l.init_pid, &l.monitor_pid) == 2) return l;
    if (reply.rfind("error ", 0) == 0) reply = reply.substr(6);
    if (reply.empty()) reply = "lodge-monitor exited without a word; see " + log;
    throw Error(500, reply);
}

} // namespace lodge::runtime
