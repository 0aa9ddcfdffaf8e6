// Each managed network's dnsmasq: run detached (it outlives lodged, whose
// next start adopts it), supervised through a pidfd and started again when
// it dies, told to reread its hosts when an entry changes.
#include "daemon/networks/networks.hpp"

#include "common/command.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/pidfd.hpp"
#include "common/file.hpp"
#include "daemon/networks/config.hpp"
#include "network/dnsmasq.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace lodge::daemon {

using namespace networks;

namespace {

std::string domain_of(const api::ConfigMap& c) {
    const auto d = value_of(c, "dns.domain");
    return d.empty() ? "lxd" : d;
}

network::DnsmasqConfig dnsmasq_config(const std::string& name, const std::string& dir, const api::ConfigMap& c) {
    network::DnsmasqConfig d;
    d.bridge = name;
    d.dir = dir;
    d.ipv4 = ipv4_of(c);
    d.dhcp4 = value_of(c, "ipv4.dhcp") != "false";
    if (d.ipv4 && !value_of(c, "ipv4.dhcp.ranges").empty())
        d.ranges = network::parse_ipv4_ranges(value_of(c, "ipv4.dhcp.ranges"), *d.ipv4);
    d.ipv6 = ipv6_of(c);
    d.domain = domain_of(c);
    if (auto mtu = value_of(c, "bridge.mtu"); !mtu.empty()) d.mtu = static_cast<unsigned>(std::stoul(mtu));
    return d;
}

// dnsmasq as lodged runs it: forking once it is ready (its exit status says
// whether it started), its pid in the network's directory.
std::vector<std::string> daemon_argv(const network::DnsmasqConfig& c) {
    std::vector<std::string> argv;
    for (auto& a : network::dnsmasq_args(c)) {
        if (a == "--keep-in-foreground") continue;
        if (a.rfind("--pid-file", 0) == 0) a = "--pid-file=" + c.dir + "/dnsmasq.pid";
        argv.push_back(a);
    }
    return argv;
}

std::string dnsmasq_binary() {
    for (const char* p : {"/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"})
        if (::access(p, X_OK) == 0) return p;
    throw Error(500, "dnsmasq is not installed (Debian package dnsmasq-base)");
}

std::vector<std::string> cmdline_of(pid_t pid) {
    std::string raw;
    try {
        raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    } catch (const Error&) {
        return {};
    }
    std::vector<std::string> out;
    for (size_t pos = 0; pos < raw.size();) {
        auto end = raw.find('\0', pos);
        if (end == std::string::npos) end = raw.size();
        out.push_back(raw.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

// The dnsmasq the pid file names, when it is still a dnsmasq serving `bridge`.
pid_t recorded_dnsmasq(const std::string& dir, const std::string& bridge) {
    std::string text;
    try {
        text = read_file(dir + "/dnsmasq.pid");
    } catch (const Error&) {
        return -1;
    }
    const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
    if (pid <= 1) return -1;
    const auto argv = cmdline_of(pid);
    if (argv.empty() || argv[0].find("dnsmasq") == std::string::npos) return -1;
    if (std::find(argv.begin(), argv.end(), "--interface=" + bridge) == argv.end()) return -1;
    return pid;
}

// SIGTERM, then SIGKILL when it has not gone within 2 s.
void end_process(pid_t pid, int pidfd) {
    UniqueFd own;
    if (pidfd < 0) {
        own.reset(pidfd_open(pid));
        pidfd = own.get();
        if (pidfd < 0) return; // gone already
    }
    pidfd_terminate(pidfd, 2000);
}

std::string tail_of(const std::string& text) {
    auto t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t.size() > 600 ? t.substr(t.size() - 600) : t;
}

} // namespace

void Networks::ensure_dnsmasq(const std::string& name, const api::ConfigMap& c) {
    const auto d = dir(name);
    make_dirs(d, 0755);
    make_dirs(d + "/dnsmasq.hosts", 0755);
    const auto argv = daemon_argv(dnsmasq_config(name, d, c));
    auto it = dnsmasq_.find(name);
    if (it != dnsmasq_.end() && it->second.argv == argv && ::kill(it->second.pid, 0) == 0) return;
    if (it == dnsmasq_.end()) {
        // Left running by a previous lodged: kept when it runs as it should.
        if (pid_t pid = recorded_dnsmasq(d, name); pid > 0) {
            auto running = cmdline_of(pid);
            if (running == argv) {
                Dnsmasq adopted{pid, pidfd_open(pid), argv};
                dnsmasq_[name] = adopted;
                spdlog::info("network {}: dnsmasq {} adopted", name, pid);
                return;
            }
            end_process(pid, -1);
        }
    }
    stop_dnsmasq(name);
    run_dnsmasq(name, argv);
}

void Networks::run_dnsmasq(const std::string& name, const std::vector<std::string>& argv) {
    const auto d = dir(name);
    const auto binary = dnsmasq_binary();
    ::unlink((d + "/dnsmasq.pid").c_str());
    // dnsmasq forks its daemon once it is ready and answers with its exit
    // status; the daemon is nobody's child but init's and keeps no copy of
    // the output pipe.
    const auto result = run_command(binary, argv);
    if (result.status != 0)
        throw Error(500, "dnsmasq for network " + name + " did not start: " + tail_of(result.output));
    pid_t pid = -1;
    for (int i = 0; i < 100 && (pid = recorded_dnsmasq(d, name)) <= 0; ++i) ::usleep(10000);
    if (pid <= 0) throw Error(500, "dnsmasq for network " + name + " started but wrote no pid file");
    dnsmasq_[name] = Dnsmasq{pid, pidfd_open(pid), argv};
    spdlog::info("network {}: dnsmasq {} started", name, pid);
}

void Networks::stop_dnsmasq(const std::string& name) {
    auto it = dnsmasq_.find(name);
    if (it != dnsmasq_.end()) {
        end_process(it->second.pid, it->second.pidfd);
        if (it->second.pidfd >= 0) ::close(it->second.pidfd);
        dnsmasq_.erase(it);
        return;
    }
    if (pid_t pid = recorded_dnsmasq(dir(name), name); pid > 0) end_process(pid, -1);
}

void Networks::supervise(std::stop_token stop) {
    auto last_restart = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    while (!stop.stop_requested()) {
        std::vector<pollfd> fds;
        std::vector<std::string> names;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [name, d] : dnsmasq_)
                if (d.pidfd >= 0) {
                    fds.push_back({d.pidfd, POLLIN, 0});
                    names.push_back(name);
                }
        }
        if (fds.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            continue;
        }
        if (::poll(fds.data(), fds.size(), 500) <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            std::lock_guard lock(mutex_);
            auto it = dnsmasq_.find(names[i]);
            if (it == dnsmasq_.end() || it->second.pidfd != fds[i].fd) continue; // stopped on purpose meanwhile
            ::close(it->second.pidfd);
            const auto argv = it->second.argv;
            dnsmasq_.erase(it);
            // One restart a second at most: a dnsmasq that dies at once
            // must not keep lodged busy.
            auto now = std::chrono::steady_clock::now();
            if (now - last_restart < std::chrono::seconds(1)) std::this_thread::sleep_for(std::chrono::seconds(1));
            last_restart = std::chrono::steady_clock::now();
            spdlog::warn("network {}: dnsmasq ended; starting it again", names[i]);
            try {
                run_dnsmasq(names[i], argv);
            } catch (const std::exception& e) {
                spdlog::error("network {}: {}", names[i], e.what());
            }
        }
    }
}

void Networks::reload_hosts(const std::string& net) {
    std::lock_guard lock(mutex_);
    if (auto it = dnsmasq_.find(net); it != dnsmasq_.end() && it->second.pidfd >= 0)
        pidfd_send_signal(it->second.pidfd, SIGHUP);
}

} // namespace lodge::daemon
