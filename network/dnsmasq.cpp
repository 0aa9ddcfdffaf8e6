// dnsmasq's command line, lease file and static hosts (see dnsmasq.hpp).
#include "network/dnsmasq.hpp"

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <sstream>

#include "common/error.hpp"
#include "common/file.hpp"

namespace lodge::network {

namespace {

std::string hosts_dir(const std::string& dir) { return dir + "/dnsmasq.hosts"; }

void check_instance(const std::string& instance) {
    // The name is a file name in the hosts dir; dnsmasq ignores dotfiles.
    if (instance.empty() || instance[0] == '.' || instance.find('/') != std::string::npos ||
        instance.find(',') != std::string::npos || instance.size() > 255)
        throw Error(400, "invalid instance name \"" + instance + "\" for a DHCP host entry");
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep)) out.push_back(part);
    return out;
}

} // namespace

std::vector<std::string> dnsmasq_args(const DnsmasqConfig& c) {
    if (!valid_interface_name(c.bridge)) throw Error(400, "invalid bridge name \"" + c.bridge + "\"");
    std::vector<std::string> a = {"dnsmasq",
                                  "--keep-in-foreground",
                                  "--strict-order",
                                  "--bind-interfaces",
                                  "--except-interface=lo",
                                  "--pid-file=",
                                  "--no-ping", // pinging before an offer delays lease file updates
                                  "--interface=" + c.bridge,
                                  "--dhcp-rapid-commit",
                                  "--quiet-dhcp",
                                  "--quiet-dhcp6",
                                  "--quiet-ra"};
    if (c.ipv4) a.push_back("--listen-address=" + c.ipv4->address_str());
    if (c.ipv6) a.push_back("--listen-address=" + c.ipv6->address_str());
    bool dhcp4 = c.ipv4 && c.dhcp4;
    if (dhcp4 || c.ipv6) {
        a.insert(a.end(), {"--dhcp-no-override", "--dhcp-authoritative",
                           "--dhcp-leasefile=" + c.dir + "/dnsmasq.leases", "--dhcp-hostsdir=" + hosts_dir(c.dir)});
    }
    if (dhcp4 && c.ranges.empty() && c.ipv4->prefix > 30)
        throw Error(400, "IPv4 subnet " + c.ipv4->str() + " of " + c.bridge + " has no room for DHCP");
    if (dhcp4) {
        if (c.mtu) a.push_back("--dhcp-option-force=26," + std::to_string(c.mtu));
        const std::string expiry = "1h";
        if (c.ranges.empty()) {
            a.insert(a.end(), {"--dhcp-range", ipv4_str(c.ipv4->network() + 2) + "," +
                                                   ipv4_str(c.ipv4->broadcast() - 1) + "," + expiry});
        }
        for (const auto& r : c.ranges)
            a.insert(a.end(), {"--dhcp-range", ipv4_str(r.first) + "," + ipv4_str(r.last) + "," + expiry});
    }
    if (c.ipv6) {
        a.insert(a.end(), {"--enable-ra", "--dhcp-range", "::,constructor:" + c.bridge + ",ra-stateless,ra-names"});
    }
    a.insert(a.end(), {"-s", c.domain, "--interface-name", "_gateway." + c.domain + "," + c.bridge, "-S",
                       "/" + c.domain + "/", "--conf-file=/dev/null", "-u", "nobody"});
    return a;
}

std::vector<Lease> read_leases(const std::string& leasefile) {
    std::vector<Lease> out;
    for (const auto& line : split(read_file_if_exists(leasefile), '\n')) {
        std::istringstream in(line);
        std::string expiry, hwaddr, address, hostname;
        if (!(in >> expiry >> hwaddr >> address >> hostname)) continue; // the "duid ..." line has two fields
        // DHCPv6 lines carry an IAID where IPv4 ones carry the MAC.
        if (hwaddr.find(':') == std::string::npos) continue;
        Lease l;
        auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), l.expiry);
        if (ec != std::errc{} || end != expiry.data() + expiry.size()) continue;
        l.hwaddr = hwaddr;
        l.address = address;
        if (hostname != "*") l.hostname = hostname;
        out.push_back(std::move(l));
    }
    return out;
}

void write_static_host(const std::string& dir, const std::string& instance, const std::string& hwaddr,
                       const std::string& ipv4) {
    check_instance(instance);
    if (!valid_mac(hwaddr)) throw Error(400, "invalid MAC address \"" + hwaddr + "\" for instance " + instance);
    if (!ipv4.empty() && !parse_ipv4(ipv4))
        throw Error(400, "invalid IPv4 address \"" + ipv4 + "\" for instance " + instance);
    std::string hosts = hosts_dir(dir);
    make_dirs(hosts);
    std::string line = hwaddr + (ipv4.empty() ? "" : "," + ipv4) + "," + instance + "\n";
    // dnsmasq reads every file that appears in the dir (inotify), but skips
    // dotfiles: stage the file under a dot name, then rename it in place.
    std::string staged = hosts + "/." + instance;
    write_file_atomic(staged, line);
    if (::rename(staged.c_str(), (hosts + "/" + instance).c_str()) < 0) throw_errno("rename " + staged);
}

void remove_static_host(const std::string& dir, const std::string& instance) {
    check_instance(instance);
    std::string path = hosts_dir(dir) + "/" + instance;
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("remove " + path);
}

std::vector<Lease> static_hosts(const std::string& dir) {
    std::vector<Lease> out;
    std::string hosts = hosts_dir(dir);
    DIR* d = ::opendir(hosts.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        throw_errno("open " + hosts);
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d))
        if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        for (const auto& line : split(read_file_if_exists(hosts + "/" + name), '\n')) {
            auto fields = split(line, ',');
            if (fields.size() == 2) out.push_back({fields[0], "", fields[1], 0});
            if (fields.size() == 3) out.push_back({fields[0], fields[1], fields[2], 0});
        }
    }
    return out;
}

} // namespace lodge::network
