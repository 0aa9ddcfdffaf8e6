// Networks (shared/api/network.go, network_state.go, network_lease.go):
// managed bridges and the host's other interfaces, their state and leases.
#pragma once

#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lodge::api {

struct Network {
    std::string name;
    std::string description;
    std::string type;     // "bridge", "loopback", "physical", "macvlan" …
    bool managed = false; // lodged made it (a bridge it runs dnsmasq and rules for)
    std::string status;   // "Created" for managed networks, "" otherwise
    ConfigMap config;
    std::vector<std::string> used_by;
    std::vector<std::string> locations = {"none"};
};

inline void to_json(nlohmann::json& j, const Network& n) {
    j = nlohmann::json{{"config", n.config},           {"description", n.description}, {"name", n.name},
                       {"type", n.type},               {"used_by", n.used_by},         {"managed", n.managed},
                       {"status", n.status},           {"locations", n.locations}};
}

inline void from_json(const nlohmann::json& j, Network& n) {
    n.name = j.value("name", "");
    n.description = j.value("description", "");
    n.type = j.value("type", "");
    n.managed = j.value("managed", false);
    n.status = j.value("status", "");
    n.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
    n.used_by = j.contains("used_by") && !j["used_by"].is_null() ? j["used_by"].get<std::vector<std::string>>()
                                                                 : std::vector<std::string>{};
}

// POST /1.0/networks
struct NetworksPost {
    std::string name;
    std::string description;
    std::string type; // "" means bridge
    ConfigMap config;
};

inline void from_json(const nlohmann::json& j, NetworksPost& p) {
    p.name = j.value("name", "");
    p.description = j.value("description", "");
    p.type = j.value("type", "");
    p.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
}

inline void to_json(nlohmann::json& j, const NetworksPost& p) {
    j = nlohmann::json{{"name", p.name}, {"description", p.description}, {"type", p.type}, {"config", p.config}};
}

struct NetworkAddress {
    std::string family; // "inet", "inet6"
    std::string address;
    std::string netmask; // the prefix length as a string, as LXD sends it
    std::string scope;   // "global", "link", "local"
};

inline void to_json(nlohmann::json& j, const NetworkAddress& a) {
    j = nlohmann::json{{"family", a.family}, {"address", a.address}, {"netmask", a.netmask}, {"scope", a.scope}};
}

inline void from_json(const nlohmann::json& j, NetworkAddress& a) {
    a.family = j.value("family", "");
    a.address = j.value("address", "");
    a.netmask = j.value("netmask", "");
    a.scope = j.value("scope", "");
}

// GET /1.0/networks/NAME/state: counters carry only bytes and packets.
struct NetworkState {
    std::vector<NetworkAddress> addresses;
    uint64_t bytes_received = 0, bytes_sent = 0, packets_received = 0, packets_sent = 0;
    std::string hwaddr;
    unsigned mtu = 0;
    std::string state; // "up", "down"
    std::string type;  // "broadcast", "loopback" …
    // Bridges only: the bridge's id and the interfaces enslaved to it.
    std::optional<std::string> bridge_id;
    std::vector<std::string> upper_devices;
};

inline void to_json(nlohmann::json& j, const NetworkState& s) {
    j = nlohmann::json{{"addresses", s.addresses},
                       {"counters",
                        {{"bytes_received", s.bytes_received},
                         {"bytes_sent", s.bytes_sent},
                         {"packets_received", s.packets_received},
                         {"packets_sent", s.packets_sent}}},
                       {"hwaddr", s.hwaddr},
                       {"mtu", s.mtu},
                       {"state", s.state},
                       {"type", s.type},
                       {"bond", nullptr},
                       {"bridge", nullptr},
                       {"vlan", nullptr},
                       {"ovn", nullptr}};
    if (s.bridge_id)
        j["bridge"] = {{"id", *s.bridge_id},
                       {"stp", false},
                       {"forward_delay", 1500},
                       {"vlan_default", 0},
                       {"vlan_filtering", false},
                       {"upper_devices", s.upper_devices}};
}

// GET /1.0/networks/NAME/leases
struct NetworkLease {
    std::string hostname;
    std::string hwaddr;
    std::string address;
    std::string type;     // "gateway", "static", "dynamic"
    std::string location = "none";
};

inline void to_json(nlohmann::json& j, const NetworkLease& l) {
    j = nlohmann::json{{"hostname", l.hostname}, {"hwaddr", l.hwaddr}, {"address", l.address},
                       {"type", l.type},         {"location", l.location}};
}

inline void from_json(const nlohmann::json& j, NetworkLease& l) {
    l.hostname = j.value("hostname", "");
    l.hwaddr = j.value("hwaddr", "");
    l.address = j.value("address", "");
    l.type = j.value("type", "");
    l.location = j.value("location", "");
}

} // namespace lodge::api
