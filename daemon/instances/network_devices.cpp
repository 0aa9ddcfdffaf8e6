// nic and proxy devices of instances. A nic's host side (a veth on a bridge,
// a macvlan, a bare veth for p2p) is made by lodged and its other end handed
// to the runtime, which moves it into the container before init runs, or
// moved in at once when the nic is hot-plugged. A proxy is a lodge-proxy
// process per device, listening on the host and connecting inside the
// instance. What a running instance has is kept in its run directory, so
// hot-plug and a restarted lodged compare against the truth.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "network/address.hpp"
#include "network/netlink.hpp"
#include "network/proxy.hpp"
#include "network/traffic.hpp"
#include "profiles/values.hpp"
#include "runtime/monitor_client.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

namespace lodge::daemon {

namespace {

constexpr const char* devices_file = "lodge-network-devices.json";

} // namespace

void to_json(nlohmann::json& j, const Instances::Nic& n) {
    j = {{"name", n.name},     {"nictype", n.nictype}, {"network", n.network}, {"bridge", n.bridge},
         {"parent", n.parent}, {"hwaddr", n.hwaddr},   {"host_name", n.host_name}, {"ipv4", n.ipv4},
         {"mtu", n.mtu},       {"mode", n.mode},       {"ingress", n.ingress}, {"egress", n.egress}};
}

void from_json(const nlohmann::json& j, Instances::Nic& n) {
    n.name = j.value("name", "");
    n.nictype = j.value("nictype", "");
    n.network = j.value("network", "");
    n.bridge = j.value("bridge", "");
    n.parent = j.value("parent", "");
    n.hwaddr = j.value("hwaddr", "");
    n.host_name = j.value("host_name", "");
    n.ipv4 = j.value("ipv4", "");
    n.mtu = j.value("mtu", 0U);
    n.mode = j.value("mode", "");
    n.ingress = j.value("ingress", "");
    n.egress = j.value("egress", "");
}

void to_json(nlohmann::json& j, const Instances::ProxyDevice& p) { j = {{"listen", p.listen}, {"connect", p.connect}}; }

void from_json(const nlohmann::json& j, Instances::ProxyDevice& p) {
    p.listen = j.value("listen", "");
    p.connect = j.value("connect", "");
}

bool Instances::Nic::same_device(const Nic& o) const {
    return name == o.name && nictype == o.nictype && network == o.network && bridge == o.bridge &&
           parent == o.parent && hwaddr == o.hwaddr && ipv4 == o.ipv4 && mtu == o.mtu && mode == o.mode &&
           ingress == o.ingress && egress == o.egress;
}

std::map<std::string, Instances::Nic> Instances::nic_plan(const InstanceLocation& where, api::Instance& instance) {
    std::map<std::string, Nic> out;
    for (const auto& [dev, keys] : instance.expanded_devices) {
        if (profiles::value_of(keys, "type") != "nic") continue;
        Nic n;
        n.name = profiles::value_of(keys, "name").empty() ? dev : profiles::value_of(keys, "name");
        n.network = profiles::value_of(keys, "network");
        n.nictype = n.network.empty() ? profiles::value_of(keys, "nictype") : "bridged";
        n.parent = profiles::value_of(keys, "parent");
        n.ipv4 = profiles::value_of(keys, "ipv4.address");
        n.ingress = profiles::value_of(keys, "limits.ingress");
        n.egress = profiles::value_of(keys, "limits.egress");
        n.mode = profiles::value_of(keys, "mode").empty() ? "bridge" : profiles::value_of(keys, "mode");
        if (auto mtu = profiles::value_of(keys, "mtu"); !mtu.empty()) n.mtu = static_cast<unsigned>(std::stoul(mtu));
        if (!n.network.empty()) {
            if (!daemon_.networks().managed(n.network))
                throw Error(404, "Device \"" + dev + "\": network \"" + n.network + "\" not found");
            n.bridge = n.network;
            if (!n.ipv4.empty()) daemon_.networks().check_static_address(n.network, where.name, n.ipv4);
        } else if (n.nictype == "bridged") {
            auto link = network::Netlink().link(n.parent);
            if (!link || link->kind != "bridge")
                throw Error(400, "Device \"" + dev + "\": parent \"" + n.parent + "\" is not a bridge on the host");
            n.bridge = n.parent;
            // A managed bridge named as a parent is still the managed network.
            if (daemon_.networks().managed(n.parent)) n.network = n.parent;
            if (!n.ipv4.empty()) {
                if (n.network.empty())
                    throw Error(400, "Device \"" + dev + "\": ipv4.address needs a managed network (" + n.parent +
                                         " is not one)");
                daemon_.networks().check_static_address(n.network, where.name, n.ipv4);
            }
        } else if (n.nictype == "macvlan" && !network::Netlink().link(n.parent)) {
            throw Error(400, "Device \"" + dev + "\": parent \"" + n.parent + "\" is not an interface of the host");
        }
        // The MAC stays the instance's across restarts (and its DHCP lease
        // with it); copies get their own, as volatile keys are not copied.
        const auto volatile_mac = "volatile." + dev + ".hwaddr";
        n.hwaddr = profiles::value_of(keys, "hwaddr");
        if (n.hwaddr.empty()) n.hwaddr = profiles::value_of(instance.config, volatile_mac);
        if (n.hwaddr.empty()) {
            n.hwaddr = network::random_mac();
            instance.config[volatile_mac] = n.hwaddr;
            daemon_.with_db([&](db::Database& db) { db::set_instance_config(db, where.id, volatile_mac, n.hwaddr); });
        }
        n.host_name = profiles::value_of(keys, "host_name");
        if (n.host_name.empty()) n.host_name = network::random_veth_name();
        out[dev] = n;
    }
    for (auto a = out.begin(); a != out.end(); ++a)
        for (auto b = std::next(a); b != out.end(); ++b)
            if (a->second.name == b->second.name)
                throw Error(400, "Devices \"" + a->first + "\" and \"" + b->first + "\" both name the interface " +
                                     a->second.name);
    return out;
}

std::string Instances::plug_host_side(const InstanceLocation& where, const Nic& n) {
    network::Netlink nl;
    // The end that goes into the container carries the MAC the guest sees.
    const auto peer = network::random_veth_name();
    if (n.nictype == "macvlan") {
        nl.create_macvlan(peer, n.parent, n.mode, n.hwaddr, n.mtu);
        return peer;
    }
    if (nl.link(n.host_name)) throw Error(409, "Interface " + n.host_name + " already exists on the host");
    nl.create_veth(n.host_name, peer, n.hwaddr, n.mtu);
    try {
        if (!n.bridge.empty()) nl.set_master(n.host_name, n.bridge);
        network::limit_traffic(n.host_name, n.ingress, n.egress);
        nl.set_up(n.host_name, true);
    } catch (...) {
        nl.delete_link(n.host_name);
        throw;
    }
    if (!n.network.empty()) daemon_.networks().set_host(n.network, where.name, n.hwaddr, n.ipv4);
    return peer;
}

void Instances::unplug_host_side(const InstanceLocation& where, const Nic& n) {
    try {
        // A veth pair goes as a whole; a macvlan went with the container.
        if (n.nictype != "macvlan") network::Netlink().delete_link(n.host_name);
        if (!n.egress.empty()) network::remove_traffic_limits(n.host_name);
    } catch (const std::exception& e) {
        spdlog::warn("instance {}: removing {}: {}", where.name, n.host_name, e.what());
    }
}

std::string Instances::network_devices_path(const InstanceLocation& where) const {
    return runtime::container_run_dir(run_dir_, where.runtime_name) + "/" + devices_file;
}

Instances::NetworkDevices Instances::running_network_devices(const InstanceLocation& where) const {
    NetworkDevices d;
    try {
        auto j = nlohmann::json::parse(read_file(network_devices_path(where)));
        d.nics = j.value("nics", nlohmann::json::object()).get<std::map<std::string, Nic>>();
        d.proxies = j.value("proxies", nlohmann::json::object()).get<std::map<std::string, ProxyDevice>>();
    } catch (const std::exception&) {
    }
    return d;
}

void Instances::record_network_devices(const InstanceLocation& where, const NetworkDevices& d) const {
    nlohmann::json j = {{"nics", d.nics}, {"proxies", d.proxies}};
    // Before the first start the runtime has not made the directory yet.
    make_dirs(run_dir_, 0711);
    make_dirs(runtime::container_run_dir(run_dir_, where.runtime_name), 0700);
    write_file_atomic(network_devices_path(where), j.dump(), 0600);
}

std::map<std::string, Instances::ProxyDevice> Instances::proxy_plan(const api::Instance& instance) {
    std::map<std::string, ProxyDevice> out;
    for (const auto& [dev, keys] : instance.expanded_devices) {
        if (profiles::value_of(keys, "type") != "proxy") continue;
        ProxyDevice p{profiles::value_of(keys, "listen"), profiles::value_of(keys, "connect")};
        try {
            network::parse_proxy(p.listen, p.connect);
        } catch (const Error& e) {
            throw Error(400, "Device \"" + dev + "\": " + e.what());
        }
        out[dev] = p;
    }
    return out;
}

std::string Instances::proxy_pidfile(const InstanceLocation& where, const std::string& dev) const {
    return runtime::container_run_dir(run_dir_, where.runtime_name) + "/proxy." + dev + ".pid";
}

void Instances::start_proxy(const InstanceLocation& where, const std::string& dev, const ProxyDevice& p, pid_t init_pid) {
    const auto pidfile = proxy_pidfile(where, dev);
    const auto log = runtime::container_run_dir(run_dir_, where.runtime_name) + "/proxy." + dev + ".log";
    try {
        network::start_proxy(network::parse_proxy(p.listen, p.connect), init_pid, pidfile, log);
    } catch (const Error& e) {
        throw Error(e.status(), "Device \"" + dev + "\": " + e.what());
    }
    spdlog::info("instance {}: proxy {} forwards {} to {}", where.name, dev, p.listen, p.connect);
}

void Instances::stop_proxy(const InstanceLocation& where, const std::string& dev) {
    network::stop_proxy(proxy_pidfile(where, dev));
}

std::vector<runtime::NetInterface> Instances::plug_network_devices(const InstanceLocation& where, api::Instance& instance,
                                                                   Reverter& revert) {
    // What a run that ended by itself left on the host (its namespace took
    // the container's ends, not an ifb device or a host_name veth kept busy).
    for (const auto& [dev, n] : running_network_devices(where).nics) unplug_host_side(where, n);
    NetworkDevices d;
    d.nics = nic_plan(where, instance);
    d.proxies = proxy_plan(instance);
    std::vector<runtime::NetInterface> interfaces;
    for (const auto& [dev, n] : d.nics) {
        const auto peer = plug_host_side(where, n);
        revert.add([this, where, n, peer] {
            unplug_host_side(where, n);
            network::Netlink().delete_link(peer); // a macvlan not moved in yet
        });
        interfaces.push_back({peer, n.name});
    }
    record_network_devices(where, d);
    return interfaces;
}

void Instances::start_proxies(const InstanceLocation& where, pid_t init_pid) {
    const auto d = running_network_devices(where);
    for (const auto& [dev, p] : d.proxies) start_proxy(where, dev, p, init_pid);
}

void Instances::unplug_network_devices(const InstanceLocation& where) {
    const auto d = running_network_devices(where);
    for (const auto& [dev, p] : d.proxies) stop_proxy(where, dev);
    for (const auto& [dev, n] : d.nics) unplug_host_side(where, n);
    ::unlink(network_devices_path(where).c_str());
}

bool Instances::apply_network_devices(const InstanceLocation& where, api::Instance& instance, pid_t init_pid) {
    auto current = running_network_devices(where);
    const auto wanted_nics = nic_plan(where, instance);
    const auto wanted_proxies = proxy_plan(instance);
    bool changed = false;
    for (auto it = current.proxies.begin(); it != current.proxies.end();) {
        auto w = wanted_proxies.find(it->first);
        if (w != wanted_proxies.end() && w->second.listen == it->second.listen && w->second.connect == it->second.connect) {
            ++it;
            continue;
        }
        stop_proxy(where, it->first);
        spdlog::info("instance {}: proxy {} removed", where.name, it->first);
        it = current.proxies.erase(it);
        changed = true;
    }
    for (auto it = current.nics.begin(); it != current.nics.end();) {
        auto w = wanted_nics.find(it->first);
        if (w != wanted_nics.end() && w->second.same_device(it->second)) {
            ++it;
            continue;
        }
        unplug_host_side(where, it->second);
        if (!it->second.network.empty()) daemon_.networks().remove_host(it->second.network, where.name);
        spdlog::info("instance {}: nic {} ({}) removed", where.name, it->first, it->second.name);
        it = current.nics.erase(it);
        changed = true;
    }
    record_network_devices(where, current);
    UniqueFd netns;
    for (const auto& [dev, n] : wanted_nics) {
        if (current.nics.count(dev)) continue;
        if (!netns) {
            netns.reset(::open(("/proc/" + std::to_string(init_pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
            if (!netns) throw_errno("open the network namespace of instance " + where.name);
        }
        const auto peer = plug_host_side(where, n);
        try {
            network::Netlink().move_to_namespace(peer, netns.get(), n.name);
        } catch (...) {
            unplug_host_side(where, n);
            network::Netlink().delete_link(peer);
            throw;
        }
        current.nics[dev] = n;
        record_network_devices(where, current);
        spdlog::info("instance {}: nic {} added as {}", where.name, dev, n.name);
        changed = true;
    }
    for (const auto& [dev, p] : wanted_proxies) {
        if (current.proxies.count(dev)) continue;
        start_proxy(where, dev, p, init_pid);
        current.proxies[dev] = p;
        record_network_devices(where, current);
        changed = true;
    }
    return changed;
}

void Instances::resume_devices() {
    std::vector<std::pair<std::int64_t, std::string>> all;
    daemon_.with_db([&](db::Database& db) {
        auto st = db.prepare("SELECT project_id, name FROM instances ORDER BY name");
        while (st.step()) all.emplace_back(st.integer(0), st.text(1));
    });
    for (const auto& [project, name] : all) {
        try {
            const auto where = locate(project, name);
            const auto st = runtime_status(where.runtime_name);
            if (st.status != "running" && st.status != "frozen") continue;
            for (const auto& [dev, p] : running_network_devices(where).proxies) {
                if (network::running_proxy(proxy_pidfile(where, dev))) continue;
                spdlog::warn("instance {}: proxy {} was not running; starting it again", name, dev);
                start_proxy(where, dev, p, st.init_pid);
            }
        } catch (const std::exception& e) {
            spdlog::error("instance {}: {}", name, e.what());
        }
    }
}

nlohmann::json Instances::network_state(const InstanceLocation& where, pid_t init_pid) const {
    nlohmann::json out = nlohmann::json::object();
    const auto devices = running_network_devices(where);
    try {
        auto nl = network::Netlink::in_namespace_of(init_pid);
        const auto links = nl.links();
        const auto addresses = nl.addresses(links);
        for (const auto& l : links) {
            nlohmann::json addrs = nlohmann::json::array();
            for (const auto& a : addresses)
                if (a.interface == l.name)
                    addrs.push_back({{"family", a.family}, {"address", a.address}, {"netmask", std::to_string(a.prefix)},
                                     {"scope", a.scope}});
            std::string host_name;
            for (const auto& [dev, n] : devices.nics)
                if (n.name == l.name && n.nictype != "macvlan") host_name = n.host_name;
            out[l.name] = {{"addresses", addrs},
                           {"counters",
                            {{"bytes_received", l.counters.rx_bytes},
                             {"bytes_sent", l.counters.tx_bytes},
                             {"packets_received", l.counters.rx_packets},
                             {"packets_sent", l.counters.tx_packets},
                             {"errors_received", l.counters.rx_errors},
                             {"errors_sent", l.counters.tx_errors},
                             {"packets_dropped_outbound", l.counters.tx_dropped},
                             {"packets_dropped_inbound", l.counters.rx_dropped}}},
                           {"hwaddr", l.hwaddr},
                           {"host_name", host_name},
                           {"mtu", l.mtu},
                           {"state", l.state},
                           {"type", l.type}};
        }
    } catch (const std::exception&) {
        // It stopped between the two questions.
    }
    return out;
}

} // namespace lodge::daemon
