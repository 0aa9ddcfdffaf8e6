// dnsmasq for a managed bridge: its command line, its lease file and the
// static DHCP host entries it rereads from a directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "network/address.hpp"

namespace lodge::network {

struct DnsmasqConfig {
    std::string bridge;
    std::string dir;             // the network's state dir: leases and hosts dir live here
    std::optional<Ipv4Net> ipv4; // bridge address; DHCPv4 when dhcp4
    bool dhcp4 = true;
    std::vector<Ipv4Range> ranges; // empty: the whole subnet but the gateway
    std::optional<Ipv6Net> ipv6;   // RA (stateless) when set
    std::string domain = "lxd";    // dns.domain
    unsigned mtu = 0;              // advertised in DHCP option 26 when set
};

// dnsmasq's full argv (argv[0] "dnsmasq") in the shape of LXD's. No pid file:
// lodged tracks the pid itself. The dir must be readable by nobody, the
// user dnsmasq drops to.
std::vector<std::string> dnsmasq_args(const DnsmasqConfig& c);

struct Lease {
    std::string hwaddr, address, hostname;
    int64_t expiry = 0;
};
// dnsmasq's lease file (IPv4 leases; DUID and DHCPv6 lines are skipped);
// a missing file means no leases.
std::vector<Lease> read_leases(const std::string& leasefile);

// Static DHCP host entries, one file per instance in DIR/dnsmasq.hosts/
// ("HWADDR,IP,NAME" or "HWADDR,NAME"). dnsmasq picks up new and changed
// files by itself (--dhcp-hostsdir); it forgets removed or changed entries
// only on SIGHUP.
void write_static_host(const std::string& dir, const std::string& instance, const std::string& hwaddr,
                       const std::string& ipv4 /* "" = dynamic, name only */);
void remove_static_host(const std::string& dir, const std::string& instance);
std::vector<Lease> static_hosts(const std::string& dir);

} // namespace lodge::network
