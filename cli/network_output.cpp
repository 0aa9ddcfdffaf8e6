// lxc 5.0.2's output for networks (lxc/network.go) and its choice of NIC
// devices for attach and detach.
#include "cli/network_output.hpp"

#include "cli/error.hpp"
#include "cli/yaml_input.hpp"
#include "cli/storage_volume_output.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace lodge::cli {

namespace {

using nlohmann::json;

// shared/api/network.go's field order; NetworkPut's fields come first.
const std::vector<std::string> network_keys{"config",  "description", "name",     "type",
                                            "used_by", "managed",     "status",   "locations"};
const std::vector<std::string> lease_keys{"hostname", "hwaddr", "address", "type", "location"};

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string text(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// A number of the state as Go's %d prints it; absent is 0.
std::string number(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number()) return "0";
    return it->is_number_float() ? std::to_string(static_cast<long long>(it->get<double>())) : it->dump();
}

uint64_t counter(const json& counters, const char* key) {
    auto it = counters.find(key);
    return it != counters.end() && it->is_number() ? it->get<uint64_t>() : 0;
}

std::string boolean(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_boolean() && it->get<bool>() ? "true" : "false";
}

std::string joined(const json& object, const char* key) {
    std::string out;
    auto it = object.find(key);
    if (it == object.end() || !it->is_array()) return out;
    for (const auto& e : *it)
        if (e.is_string()) out += (out.empty() ? "" : ", ") + e.get<std::string>();
    return out;
}

// Go decodes the server's JSON into api.Network and yaml.v2 writes nil maps
// and slices as {} and [].
json go_network(json network) {
    if (!network.is_object()) return network;
    if (!network.contains("config") || !network["config"].is_object()) network["config"] = json::object();
    for (const char* list : {"used_by", "locations"})
        if (!network.contains(list) || !network[list].is_array()) network[list] = json::array();
    return network;
}

bool is_nic_on(const json& device, const std::string& network) {
    return device.is_object() && text(device, "type") == "nic" &&
           (text(device, "parent") == network || text(device, "network") == network);
}

} // namespace

const KeyOrder& network_key_order() {
    static const KeyOrder order{{"", network_keys}, {"[]", network_keys}};
    return order;
}

const KeyOrder& network_lease_key_order() {
    static const KeyOrder order{{"", lease_keys}, {"[]", lease_keys}};
    return order;
}

std::vector<Row> network_rows(const json& networks) {
    std::vector<Row> rows;
    if (!networks.is_array()) return rows;
    for (const auto& n : networks) {
        const auto type = text(n, "type");
        if (type == "loopback" || type == "unknown") continue;
        auto config = n.value("config", json::object());
        if (!config.is_object()) config = json::object();
        auto used_by = n.value("used_by", json::array());
        rows.push_back({text(n, "name"), type, n.value("managed", false) ? "YES" : "NO", text(config, "ipv4.address"),
                        text(config, "ipv6.address"), text(n, "description"),
                        std::to_string(used_by.is_array() ? used_by.size() : 0), upper(text(n, "status"))});
    }
    sort_by_name(rows);
    return rows;
}

std::string network_list(const std::string& format, const json& networks) {
    if (format == "json") return volume_json(networks, network_key_order());
    json raw = networks.is_array() ? json::array() : networks;
    if (networks.is_array())
        for (const auto& n : networks) raw.push_back(go_network(n));
    return render_table(format, {"NAME", "TYPE", "MANAGED", "IPV4", "IPV6", "DESCRIPTION", "USED BY", "STATE"},
                        network_rows(networks), raw, network_key_order());
}

std::string network_yaml(json network, bool sort_used_by) {
    network = go_network(std::move(network));
    if (network.is_object() && sort_used_by) {
        auto users = network["used_by"];
        std::vector<std::string> sorted;
        for (const auto& u : users)
            if (u.is_string()) sorted.push_back(u.get<std::string>());
        std::sort(sorted.begin(), sorted.end());
        network["used_by"] = sorted;
    }
    return to_yaml(network, network_key_order());
}

std::string decimal_byte_size(uint64_t bytes) {
    if (bytes < 1000) return std::to_string(bytes) + "B";
    static const char* units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    double value = static_cast<double>(bytes);
    char buf[48];
    for (const char* unit : units) {
        value /= 1000;
        if (value < 1000) {
            std::snprintf(buf, sizeof buf, "%.2f%s", value, unit);
            return buf;
        }
    }
    std::snprintf(buf, sizeof buf, "%.2fEB", value);
    return buf;
}

std::string network_info(const std::string& name, const json& state) {
    std::ostringstream out;
    out << "Name: " << name << "\n";
    out << "MAC address: " << text(state, "hwaddr") << "\n";
    out << "MTU: " << number(state, "mtu") << "\n";
    out << "State: " << text(state, "state") << "\n";
    out << "Type: " << text(state, "type") << "\n";

    if (auto addresses = state.value("addresses", json()); addresses.is_array() && !addresses.empty()) {
        out << "\nIP addresses:\n";
        for (const auto& a : addresses)
            out << "  " << text(a, "family") << "\t" << text(a, "address") << "/" << text(a, "netmask") << " ("
                << text(a, "scope") << ")\n";
    }

    auto counters = state.value("counters", json::object());
    if (!counters.is_object()) counters = json::object();
    out << "\nNetwork usage:\n";
    out << "  Bytes received: " << decimal_byte_size(counter(counters, "bytes_received")) << "\n";
    out << "  Bytes sent: " << decimal_byte_size(counter(counters, "bytes_sent")) << "\n";
    out << "  Packets received: " << counter(counters, "packets_received") << "\n";
    out << "  Packets sent: " << counter(counters, "packets_sent") << "\n";

    if (auto bond = state.value("bond", json()); bond.is_object()) {
        out << "\nBond:\n";
        out << "  Mode: " << text(bond, "mode") << "\n";
        out << "  Transmit policy: " << text(bond, "transmit_policy") << "\n";
        out << "  Up delay: " << number(bond, "up_delay") << "\n";
        out << "  Down delay: " << number(bond, "down_delay") << "\n";
        out << "  MII Frequency: " << number(bond, "mii_frequency") << "\n";
        out << "  MII state: " << text(bond, "mii_state") << "\n";
        out << "  Lower devices: " << joined(bond, "lower_devices") << "\n";
    }
    if (auto bridge = state.value("bridge", json()); bridge.is_object()) {
        out << "\nBridge:\n";
        out << "  ID: " << text(bridge, "id") << "\n";
        out << "  STP: " << boolean(bridge, "stp") << "\n";
        out << "  Forward delay: " << number(bridge, "forward_delay") << "\n";
        out << "  Default VLAN ID: " << number(bridge, "vlan_default") << "\n";
        out << "  VLAN filtering: " << boolean(bridge, "vlan_filtering") << "\n";
        out << "  Upper devices: " << joined(bridge, "upper_devices") << "\n";
    }
    if (auto vlan = state.value("vlan", json()); vlan.is_object()) {
        out << "\nVLAN:\n";
        out << "  Lower device: " << text(vlan, "lower_device") << "\n";
        out << "  VLAN ID: " << number(vlan, "vid") << "\n";
    }
    if (auto ovn = state.value("ovn", json()); ovn.is_object()) {
        out << "\nOVN:\n";
        out << "  Chassis: " << text(ovn, "chassis") << "\n";
    }
    return out.str();
}

std::string lease_list(const std::string& format, const json& leases) {
    if (format == "json") return volume_json(leases, network_lease_key_order());
    std::vector<Row> rows;
    if (leases.is_array())
        for (const auto& l : leases)
            rows.push_back({text(l, "hostname"), text(l, "hwaddr"), text(l, "address"), upper(text(l, "type"))});
    sort_by_name(rows);
    return render_table(format, {"HOSTNAME", "MAC ADDRESS", "IP ADDRESS", "TYPE"}, rows, leases,
                        network_lease_key_order());
}

json instance_nic_for(const json& network, bool nic_network_extension, const std::optional<std::string>& name) {
    json device;
    // network= lets the NIC inherit the managed network's settings when the
    // instance starts.
    if (network.value("managed", false) && nic_network_extension) device = {{"type", "nic"}, {"network", text(network, "name")}};
    else device = profile_nic_for(network, std::nullopt);
    if (name) device["name"] = *name;
    return device;
}

json profile_nic_for(const json& network, const std::optional<std::string>& name) {
    json device = {{"type", "nic"},
                   {"nictype", text(network, "type") == "bridge" ? "bridged" : "macvlan"},
                   {"parent", text(network, "name")}};
    if (name) device["name"] = *name;
    return device;
}

std::string nic_to_detach(const json& devices, const std::string& network, const std::optional<std::string>& device) {
    std::string chosen;
    if (device) {
        chosen = *device;
    } else if (devices.is_object()) {
        for (const auto& [name, d] : devices.items()) {
            if (!is_nic_on(d, network)) continue;
            if (!chosen.empty()) throw Error("More than one device matches, specify the device name");
            chosen = name;
        }
    }
    if (chosen.empty()) throw Error("No device found for this network");
    if (!devices.is_object() || !devices.contains(chosen)) throw Error("The specified device doesn't exist");
    if (!is_nic_on(devices[chosen], network)) throw Error("The specified device doesn't match the network");
    return chosen;
}

json parse_network_yaml(const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(std::string("yaml: ") + e.what());
    }
    // api.NetworkPut: a config the YAML leaves out is Go's nil map, sent as null.
    json put = {{"config", nullptr}, {"description", ""}};
    if (!root || root.IsNull()) return put;
    if (!root.IsMap()) throw Error("yaml: the network must be a map");
    if (auto config = root["config"]; config && !config.IsNull()) put["config"] = yaml_string_map(config, "config");
    if (auto description = root["description"]; description && !description.IsNull()) {
        if (!description.IsScalar()) throw Error("yaml: description must be a string");
        put["description"] = description.Scalar();
    }
    return put;
}

} // namespace lodge::cli
