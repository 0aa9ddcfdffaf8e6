#include "daemon/networks/networks.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/networks.hpp"
#include "daemon/db/profiles.hpp"
#include "network/address.hpp"
#include "network/dnsmasq.hpp"
#include "network/netlink.hpp"
#include "network/nft.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

namespace lodge::daemon {

namespace {

constexpr const char* default_network = "lodgebr0";

// LXD's keys of a bridge that lodge implements; user.* is free-form.
const std::set<std::string> bridge_keys = {"ipv4.address", "ipv4.nat",   "ipv4.dhcp",  "ipv4.dhcp.ranges",
                                           "ipv6.address", "ipv6.nat",   "dns.domain", "bridge.mtu",
                                           "bridge.hwaddr"};

std::string value_of(const api::ConfigMap& c, const std::string& key) {
    auto it = c.find(key);
    return it == c.end() ? "" : it->second;
}

bool truthy(const std::string& v) { return v == "true" || v == "1" || v == "yes" || v == "on"; }

std::optional<network::Ipv4Net> ipv4_of(const api::ConfigMap& c) {
    const auto v = value_of(c, "ipv4.address");
    if (v.empty() || v == "none") return std::nullopt;
    return network::parse_ipv4_cidr(v);
}

std::optional<network::Ipv6Net> ipv6_of(const api::ConfigMap& c) {
    const auto v = value_of(c, "ipv6.address");
    if (v.empty() || v == "none") return std::nullopt;
    return network::parse_ipv6_cidr(v);
}

// A bridge's MAC when bridge.hwaddr is unset: LXD's prefix and three bytes
// of the name's digest, so it is the same after every restart.
std::string bridge_mac(const std::string& name) {
    const auto h = sha256_hex("lodge-bridge:" + name);
    return "00:16:3e:" + h.substr(0, 2) + ":" + h.substr(2, 2) + ":" + h.substr(4, 2);
}

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

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// SIGTERM, then SIGKILL when it has not gone within 2 s.
void end_process(pid_t pid, int pidfd) {
    UniqueFd own;
    if (pidfd < 0) {
        own.reset(pidfd_open(pid));
        pidfd = own.get();
        if (pidfd < 0) return; // gone already
    }
    ::syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, nullptr, 0);
    pollfd p{pidfd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) {
        ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
        ::poll(&p, 1, 2000);
    }
}

std::string tail_of(const std::string& text) {
    auto t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t.size() > 600 ? t.substr(t.size() - 600) : t;
}

} // namespace

Networks::Networks(Daemon& daemon) : daemon_(daemon) {}

Networks::~Networks() {
    supervisor_.request_stop();
    if (supervisor_.joinable()) supervisor_.join();
    for (auto& [name, d] : dnsmasq_)
        if (d.pidfd >= 0) ::close(d.pidfd);
}

std::string Networks::dir(const std::string& name) const { return daemon_.state_dir() + "/networks/" + name; }

bool Networks::managed(const std::string& name) {
    return daemon_.with_db([&](db::Database& db) { return db::get_network(db, name).has_value(); });
}

// --- Config ---

api::ConfigMap Networks::complete_config(const std::string& name, api::ConfigMap c, const api::ConfigMap* before) {
    for (const auto& [k, v] : c) {
        if (k.rfind("user.", 0) == 0) continue;
        if (!bridge_keys.count(k)) throw Error(400, "Invalid network config: unknown key \"" + k + "\" for a bridge");
    }
    for (const char* k : {"ipv4.nat", "ipv4.dhcp", "ipv6.nat"})
        if (auto v = value_of(c, k); !v.empty() && v != "true" && v != "false")
            throw Error(400, std::string("Invalid value for ") + k + " \"" + v + "\": true or false");
    // A new network without addresses gets them as LXD's does: picked, with NAT.
    const bool creating = before == nullptr;
    if (creating && !c.count("ipv4.address")) c["ipv4.address"] = "auto";
    if (creating && !c.count("ipv6.address")) c["ipv6.address"] = "auto";
    // A kernel without IPv6 (ipv6.disable=1) gets an IPv4-only bridge for `auto`.
    if (value_of(c, "ipv6.address") == "auto" && ::access("/proc/sys/net/ipv6", F_OK) != 0) c["ipv6.address"] = "none";

    // Every other managed network's subnets, and the host's routes but
    // those through lodge's own bridges.
    std::vector<std::pair<std::string, network::Ipv4Net>> taken4;
    std::vector<std::pair<std::string, network::Ipv6Net>> taken6;
    const auto names = daemon_.with_db([](db::Database& db) { return db::network_names(db); });
    for (const auto& other : names) {
        if (other == name) continue;
        auto n = daemon_.with_db([&](db::Database& db) { return db::get_network(db, other); });
        if (!n) continue;
        if (auto v4 = ipv4_of(n->config)) taken4.push_back({"network " + other, *v4});
        if (auto v6 = ipv6_of(n->config)) taken6.push_back({"network " + other, *v6});
    }
    {
        network::Netlink nl;
        for (const auto& r : nl.routes("inet")) {
            if (r.prefix == 0 || r.interface == name || std::count(names.begin(), names.end(), r.interface)) continue;
            if (auto net = network::parse_ipv4_cidr(r.destination + "/" + std::to_string(r.prefix)))
                taken4.push_back({"the host's route " + r.destination + "/" + std::to_string(r.prefix) +
                                      (r.interface.empty() ? "" : " on " + r.interface),
                                  *net});
        }
        for (const auto& r : nl.routes("inet6")) {
            if (r.prefix == 0 || r.interface == name || std::count(names.begin(), names.end(), r.interface)) continue;
            if (r.destination.rfind("fe80:", 0) == 0 || r.destination.rfind("ff", 0) == 0) continue;
            if (auto net = network::parse_ipv6_cidr(r.destination + "/" + std::to_string(r.prefix)))
                taken6.push_back({"the host's route " + r.destination + "/" + std::to_string(r.prefix), *net});
        }
    }

    if (auto v = value_of(c, "ipv4.address"); v == "auto") {
        std::vector<network::Ipv4Net> nets;
        for (const auto& t : taken4) nets.push_back(t.second);
        c["ipv4.address"] = network::pick_ipv4_subnet(nets).str();
        if (!c.count("ipv4.nat")) c["ipv4.nat"] = "true";
    } else if (!v.empty() && v != "none") {
        auto net = network::parse_ipv4_cidr(v);
        if (!net || net->prefix < 8 || net->prefix > 30)
            throw Error(400, "Invalid value for ipv4.address \"" + v + "\": a CIDR like 10.0.3.1/24 (prefix 8 to 30), auto or none");
        if (net->address == net->network() || net->address == net->broadcast())
            throw Error(400, "Invalid value for ipv4.address \"" + v + "\": the bridge's own address, not the subnet's");
        for (const auto& [who, t] : taken4)
            if (net->overlaps(t))
                throw Error(400, "ipv4.address " + v + " overlaps " + who + " (" + t.network_str() + ")");
    }
    if (auto v = value_of(c, "ipv6.address"); v == "auto") {
        std::vector<network::Ipv6Net> nets;
        for (const auto& t : taken6) nets.push_back(t.second);
        c["ipv6.address"] = network::pick_ipv6_subnet(nets).str();
        if (!c.count("ipv6.nat")) c["ipv6.nat"] = "true";
    } else if (!v.empty() && v != "none") {
        auto net = network::parse_ipv6_cidr(v);
        if (!net || net->prefix < 8 || net->prefix > 64)
            throw Error(400, "Invalid value for ipv6.address \"" + v + "\": a CIDR like fd42:1:2:3::1/64, auto or none");
        for (const auto& [who, t] : taken6)
            if (net->overlaps(t))
                throw Error(400, "ipv6.address " + v + " overlaps " + who + " (" + t.network_str() + ")");
    }
    if (auto r = value_of(c, "ipv4.dhcp.ranges"); !r.empty()) {
        auto net = ipv4_of(c);
        if (!net) throw Error(400, "ipv4.dhcp.ranges needs an ipv4.address");
        network::parse_ipv4_ranges(r, *net);
    }
    if (auto mtu = value_of(c, "bridge.mtu"); !mtu.empty()) {
        const bool digits = std::all_of(mtu.begin(), mtu.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (!digits || mtu.size() > 5 || std::stoul(mtu) < 68 || std::stoul(mtu) > 65535)
            throw Error(400, "Invalid value for bridge.mtu \"" + mtu + "\": 68 to 65535");
    }
    if (auto mac = value_of(c, "bridge.hwaddr"); !mac.empty() && !network::valid_mac(mac))
        throw Error(400, "Invalid value for bridge.hwaddr \"" + mac + "\": a unicast MAC like 00:16:3e:12:34:56");
    if (auto d = value_of(c, "dns.domain"); !d.empty()) {
        const bool ok = d.size() < 254 && std::all_of(d.begin(), d.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.';
        }) && d.front() != '.' && d.front() != '-' && d.back() != '.';
        if (!ok) throw Error(400, "Invalid value for dns.domain \"" + d + "\": a DNS domain like lxd or lab.example");
    }
    return c;
}

// --- Making the host match ---

void Networks::converge(const api::Network& net) {
    const auto& c = net.config;
    const auto& name = net.name;
    network::Netlink nl;
    auto link = nl.link(name);
    if (link && link->kind != "bridge")
        throw Error(409, "Interface \"" + name + "\" exists on the host and is not a bridge");
    const auto hwaddr = value_of(c, "bridge.hwaddr").empty() ? bridge_mac(name) : value_of(c, "bridge.hwaddr");
    const unsigned mtu = value_of(c, "bridge.mtu").empty() ? 0 : static_cast<unsigned>(std::stoul(value_of(c, "bridge.mtu")));
    if (!link) {
        nl.create_bridge(name, mtu, hwaddr);
        link = nl.link(name);
    } else {
        if (mtu && link->mtu != mtu) nl.set_mtu(name, mtu);
        if (link->hwaddr != hwaddr) nl.set_hwaddr(name, hwaddr);
    }
    const auto v4 = ipv4_of(c);
    const auto v6 = ipv6_of(c);
    std::set<std::string> want, have;
    if (v4) want.insert(v4->str());
    if (v6) want.insert(v6->str());
    for (const auto& a : nl.addresses())
        if (a.interface == name && a.scope == "global") have.insert(a.address + "/" + std::to_string(a.prefix));
    if (want != have) {
        // Down and up again: the kernel gives the bridge back its link-local
        // address, which the flush took and router advertisements need.
        nl.set_up(name, false);
        nl.flush_addresses(name);
        if (v4) nl.add_address(name, v4->address_str(), v4->prefix);
        if (v6) nl.add_address(name, v6->address_str(), v6->prefix);
    }
    nl.set_up(name, true);
    if (v4 || v6) network::enable_forwarding(v4.has_value(), v6.has_value());
    network::BridgeRules rules;
    rules.bridge = name;
    rules.ipv4 = v4;
    rules.nat4 = v4 && truthy(value_of(c, "ipv4.nat"));
    rules.ipv6 = v6;
    rules.nat6 = v6 && truthy(value_of(c, "ipv6.nat"));
    network::apply_bridge_rules(rules);

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
    int out[2];
    check(::pipe2(out, O_CLOEXEC), "pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    const pid_t child = ::fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        // dnsmasq forks its daemon once it is ready and answers with its
        // exit status; the daemon is nobody's child but init's.
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        ::close_range(3, ~0U, 0);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(binary.c_str(), args.data());
        const char* msg = "cannot run dnsmasq";
        (void)!::write(2, msg, std::strlen(msg));
        ::_exit(127);
    }
    out_w.reset();
    // The daemon keeps no copy of the pipe (it closes its descriptors), so
    // this ends when the starting process does.
    std::string output;
    char buf[512];
    for (ssize_t n; (n = ::read(out_r.get(), buf, sizeof buf)) > 0;) output.append(buf, static_cast<size_t>(n));
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error(500, "dnsmasq for network " + name + " did not start: " + tail_of(output));
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

void Networks::teardown(const std::string& name) {
    stop_dnsmasq(name);
    network::remove_bridge_rules(name);
    network::Netlink nl;
    if (auto link = nl.link(name); link && link->kind == "bridge") nl.delete_link(name);
    std::error_code ec;
    std::filesystem::remove_all(dir(name), ec);
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

void Networks::start() {
    std::lock_guard lock(mutex_);
    const auto names = daemon_.with_db([](db::Database& db) { return db::network_names(db); });
    for (const auto& name : names) {
        try {
            auto net = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); });
            if (net) converge(*net);
        } catch (const std::exception& e) {
            spdlog::error("network {}: {}", name, e.what());
        }
    }
    // What a network deleted while lodged was down (or a crash halfway
    // through a delete) left behind.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(daemon_.state_dir() + "/networks", ec)) {
        const auto name = entry.path().filename().string();
        if (std::count(names.begin(), names.end(), name)) continue;
        try {
            spdlog::info("network {}: removing what a deleted network left", name);
            teardown(name);
        } catch (const std::exception& e) {
            spdlog::error("network {}: {}", name, e.what());
        }
    }
    if (!supervisor_.joinable()) supervisor_ = std::jthread([this](std::stop_token st) { supervise(st); });
}

void Networks::create_default() {
    try {
        create(api::NetworksPost{default_network, "", "bridge", {}});
    } catch (const std::exception& e) {
        spdlog::error("the default network {} could not be made: {}", default_network, e.what());
        return;
    }
    daemon_.with_db([&](db::Database& db) {
        db.transaction([&] {
            auto profile = db::get_profile(db, 1, "default");
            if (!profile || profile->devices.count("eth0")) return;
            profile->devices["eth0"] = {{"type", "nic"}, {"network", default_network}, {"name", "eth0"}};
            db::update_profile(db, 1, "default", *profile);
        });
    });
}

// --- API ---

std::vector<api::Network> Networks::list() {
    std::vector<api::Network> out;
    const auto names = daemon_.with_db([](db::Database& db) { return db::network_names(db); });
    std::set<std::string> seen(names.begin(), names.end());
    std::set<std::string> all(names.begin(), names.end());
    for (const auto& l : network::Netlink().links()) all.insert(l.name);
    for (const auto& n : all) {
        try {
            out.push_back(get(n));
        } catch (const Error&) {
            // gone meanwhile
        }
    }
    return out;
}

api::Network Networks::get(const std::string& name) {
    if (auto n = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); })) return *n;
    if (!network::valid_interface_name(name)) throw Error(404, "Network not found");
    auto link = network::Netlink().link(name);
    if (!link) throw Error(404, "Network not found");
    api::Network n;
    n.name = name;
    n.managed = false;
    if (link->type == "loopback")
        n.type = "loopback";
    else if (link->kind == "bridge" || link->kind == "macvlan" || link->kind == "bond" || link->kind == "vlan")
        n.type = link->kind;
    else
        n.type = "physical";
    n.used_by = daemon_.with_db([&](db::Database& db) { return db::network_users(db, name); });
    return n;
}

void Networks::create(const api::NetworksPost& request) {
    const auto& name = request.name;
    if (name.empty()) throw Error(400, "No name provided");
    if (!network::valid_interface_name(name) || name == "none")
        throw Error(400, "Invalid network name \"" + name + "\": an interface name of 1 to 15 characters without /, : or spaces");
    if (!request.type.empty() && request.type != "bridge")
        throw Error(400, "Network type \"" + request.type + "\" is not supported (lodge manages bridges)");
    std::lock_guard lock(mutex_);
    if (managed(name)) throw Error(409, "The network already exists");
    if (network::Netlink().link(name)) throw Error(409, "Interface \"" + name + "\" already exists on the host");
    api::Network net;
    net.name = name;
    net.description = request.description;
    net.type = "bridge";
    net.managed = true;
    net.status = "Created";
    net.config = complete_config(name, request.config, nullptr);
    daemon_.with_db([&](db::Database& db) { db::create_network(db, net); });
    try {
        converge(net);
    } catch (...) {
        try {
            teardown(name);
        } catch (const std::exception& e) {
            spdlog::error("network {}: {}", name, e.what());
        }
        daemon_.with_db([&](db::Database& db) { db::delete_network(db, name); });
        throw;
    }
    daemon_.events().lifecycle("network-created", "/1.0/networks/" + name);
}

void Networks::update(const std::string& name, const std::string& description, const api::ConfigMap& config, bool merge) {
    std::lock_guard lock(mutex_);
    auto current = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); });
    if (!current) {
        if (network::Netlink().link(name)) throw Error(400, "Network \"" + name + "\" is not managed by lodge");
        throw Error(404, "Network not found");
    }
    api::ConfigMap next = merge ? current->config : api::ConfigMap{};
    for (const auto& [k, v] : config) {
        if (merge && v.empty())
            next.erase(k);
        else
            next[k] = v;
    }
    next = complete_config(name, next, &current->config);
    api::Network updated = *current;
    updated.description = description;
    updated.config = next;
    daemon_.with_db([&](db::Database& db) { db::update_network(db, name, description, next); });
    try {
        converge(updated);
    } catch (...) {
        daemon_.with_db([&](db::Database& db) { db::update_network(db, name, current->description, current->config); });
        try {
            converge(*current);
        } catch (const std::exception& e) {
            spdlog::error("network {}: restoring its config: {}", name, e.what());
        }
        throw;
    }
    daemon_.events().lifecycle("network-updated", "/1.0/networks/" + name);
}

void Networks::rename(const std::string& name, const std::string& new_name) {
    std::lock_guard lock(mutex_);
    auto current = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); });
    if (!current) throw Error(404, "Network not found");
    if (!network::valid_interface_name(new_name) || new_name == "none")
        throw Error(400, "Invalid network name \"" + new_name + "\"");
    if (managed(new_name) || network::Netlink().link(new_name))
        throw Error(409, "Network \"" + new_name + "\" already exists");
    if (!current->used_by.empty()) throw Error(400, "Network \"" + name + "\" is in use and cannot be renamed");
    teardown(name);
    daemon_.with_db([&](db::Database& db) { db::rename_network(db, name, new_name); });
    current->name = new_name;
    converge(*current);
    daemon_.events().lifecycle("network-renamed", "/1.0/networks/" + new_name, {{"old_name", name}});
}

void Networks::remove(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto current = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); });
    if (!current) {
        if (network::Netlink().link(name)) throw Error(400, "Network \"" + name + "\" is not managed by lodge");
        throw Error(404, "Network not found");
    }
    if (!current->used_by.empty()) {
        std::string users;
        for (const auto& u : current->used_by) users += (users.empty() ? "" : ", ") + u;
        throw Error(400, "The network is currently in use by " + users);
    }
    teardown(name);
    daemon_.with_db([&](db::Database& db) { db::delete_network(db, name); });
    daemon_.events().lifecycle("network-deleted", "/1.0/networks/" + name);
}

api::NetworkState Networks::state(const std::string& name) {
    if (!network::valid_interface_name(name)) throw Error(404, "Network not found");
    network::Netlink nl;
    const auto links = nl.links();
    auto link = std::find_if(links.begin(), links.end(), [&](const auto& l) { return l.name == name; });
    if (link == links.end()) throw Error(404, "Network interface \"" + name + "\" not found");
    api::NetworkState s;
    for (const auto& a : nl.addresses(links))
        if (a.interface == name) s.addresses.push_back({a.family, a.address, std::to_string(a.prefix), a.scope});
    s.bytes_received = link->counters.rx_bytes;
    s.bytes_sent = link->counters.tx_bytes;
    s.packets_received = link->counters.rx_packets;
    s.packets_sent = link->counters.tx_packets;
    s.hwaddr = link->hwaddr;
    s.mtu = link->mtu;
    s.state = link->state;
    s.type = link->type;
    if (link->kind == "bridge") {
        std::string id = link->hwaddr;
        std::erase(id, ':');
        s.bridge_id = "8000." + id;
        for (const auto& l : links)
            if (l.master == link->index) s.upper_devices.push_back(l.name);
    }
    return s;
}

std::vector<api::NetworkLease> Networks::leases(const std::string& name) {
    auto net = daemon_.with_db([&](db::Database& db) { return db::get_network(db, name); });
    if (!net) {
        if (network::valid_interface_name(name) && network::Netlink().link(name))
            throw Error(400, "Leases are only kept for managed networks");
        throw Error(404, "Network not found");
    }
    std::vector<api::NetworkLease> out;
    if (auto v4 = ipv4_of(net->config)) out.push_back({name + ".gw", "", v4->address_str(), "gateway"});
    if (auto v6 = ipv6_of(net->config)) out.push_back({name + ".gw", "", v6->address_str(), "gateway"});
    const auto d = dir(name);
    const auto statics = network::static_hosts(d);
    std::set<std::string> listed;
    for (const auto& h : statics)
        if (!h.address.empty()) {
            out.push_back({h.hostname, h.hwaddr, h.address, "static"});
            listed.insert(h.hwaddr + "/" + h.address);
        }
    for (const auto& l : network::read_leases(d + "/dnsmasq.leases")) {
        if (listed.count(l.hwaddr + "/" + l.address)) continue;
        std::string host = l.hostname;
        for (const auto& h : statics)
            if (h.hwaddr == l.hwaddr && !h.hostname.empty()) host = h.hostname;
        out.push_back({host, l.hwaddr, l.address, "dynamic"});
    }
    return out;
}

// --- Instances on managed networks ---

void Networks::set_host(const std::string& net, const std::string& instance, const std::string& hwaddr,
                        const std::string& ipv4) {
    std::string before;
    try {
        before = read_file(dir(net) + "/dnsmasq.hosts/" + instance);
    } catch (const Error&) {
    }
    network::write_static_host(dir(net), instance, hwaddr, ipv4);
    // dnsmasq picks new files up by itself but forgets a changed entry
    // only when told to read them all again.
    if (!before.empty() && before != read_file(dir(net) + "/dnsmasq.hosts/" + instance)) reload_hosts(net);
}

void Networks::remove_host(const std::string& net, const std::string& instance) {
    network::remove_static_host(dir(net), instance);
    reload_hosts(net);
}

void Networks::reload_hosts(const std::string& net) {
    std::lock_guard lock(mutex_);
    if (auto it = dnsmasq_.find(net); it != dnsmasq_.end() && it->second.pidfd >= 0)
        ::syscall(SYS_pidfd_send_signal, it->second.pidfd, SIGHUP, nullptr, 0);
}

void Networks::forget_instance(const std::string& instance) {
    const auto names = daemon_.with_db([](db::Database& db) { return db::network_names(db); });
    for (const auto& n : names) {
        if (!std::filesystem::exists(dir(n) + "/dnsmasq.hosts/" + instance)) continue;
        network::remove_static_host(dir(n), instance);
        reload_hosts(n);
    }
}

void Networks::check_static_address(const std::string& net_name, const std::string& instance, const std::string& ipv4) {
    auto net = daemon_.with_db([&](db::Database& db) { return db::get_network(db, net_name); });
    if (!net) throw Error(404, "Network \"" + net_name + "\" not found");
    auto subnet = ipv4_of(net->config);
    if (!subnet) throw Error(400, "Network " + net_name + " has no IPv4 subnet for ipv4.address " + ipv4);
    auto a = network::parse_ipv4(ipv4);
    if (!a || !subnet->contains(*a) || *a == subnet->network() || *a == subnet->broadcast() || *a == subnet->address)
        throw Error(400, "ipv4.address " + ipv4 + " is not a free host address of " + net_name + " (" +
                             subnet->network_str() + ", gateway " + subnet->address_str() + ")");
    for (const auto& h : network::static_hosts(dir(net_name)))
        if (h.address == ipv4 && h.hostname != instance)
            throw Error(400, "ipv4.address " + ipv4 + " is already given to instance " + h.hostname);
}

} // namespace lodge::daemon
