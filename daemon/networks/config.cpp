// A network's config checked and completed: LXD's keys of a bridge,
// defaults filled and `auto` resolved, subnets that overlap anything else
// refused.
#include "daemon/networks/networks.hpp"

#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/networks.hpp"
#include "daemon/networks/config.hpp"
#include "network/netlink.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace lodge::daemon {

using namespace networks;

namespace {

// LXD's keys of a bridge that lodge implements; user.* is free-form.
const std::set<std::string> bridge_keys = {"ipv4.address", "ipv4.nat",   "ipv4.dhcp",  "ipv4.dhcp.ranges",
                                           "ipv6.address", "ipv6.nat",   "dns.domain", "bridge.mtu",
                                           "bridge.hwaddr"};

} // namespace

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

} // namespace lodge::daemon
