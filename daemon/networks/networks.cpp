// The managed networks' life: made to match the database at every start and
// change (bridge, addresses, rules, dnsmasq), created, changed, renamed and
// deleted through the API, their state and leases, and the instances' host
// entries.
#include "daemon/networks/networks.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/networks.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/networks/config.hpp"
#include "network/address.hpp"
#include "network/dnsmasq.hpp"
#include "network/netlink.hpp"
#include "network/nft.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace lodge::daemon {

using namespace networks;

namespace {

constexpr const char* default_network = "lodgebr0";

// A bridge's MAC when bridge.hwaddr is unset: LXD's prefix and three bytes
// of the name's digest, so it is the same after every restart.
std::string bridge_mac(const std::string& name) {
    const auto h = sha256_hex("lodge-bridge:" + name);
    return "00:16:3e:" + h.substr(0, 2) + ":" + h.substr(2, 2) + ":" + h.substr(4, 2);
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

    ensure_dnsmasq(name, c);
}

void Networks::teardown(const std::string& name) {
    stop_dnsmasq(name);
    network::remove_bridge_rules(name);
    network::Netlink nl;
    if (auto link = nl.link(name); link && link->kind == "bridge") nl.delete_link(name);
    std::error_code ec;
    std::filesystem::remove_all(dir(name), ec);
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
