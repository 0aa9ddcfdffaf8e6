// What `lodge network` prints and sends, apart from the requests: lxc
// 5.0.2's list and list-leases tables, the `info` layout, the network's
// YAML, and the NIC devices attach adds and detach looks for
// (lxc/network.go).
#pragma once

#include "cli/table.hpp"
#include "cli/yaml_output.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace lodge::cli {

const KeyOrder& network_key_order();       // api.Network, alone or in a list
const KeyOrder& network_lease_key_order(); // api.NetworkLease in a list

// `network list` in a --format: the table skips loopback and unknown
// interfaces and is sorted by name; json and yaml print every network as
// the server listed it, as lxc does.
std::vector<Row> network_rows(const nlohmann::json& networks);
std::string network_list(const std::string& format, const nlohmann::json& networks);

// The network's YAML, absent maps and lists written as yaml.v2 writes Go's
// nil ones; `show` sorts used_by, `edit` shows it as the server sent it.
std::string network_yaml(nlohmann::json network, bool sort_used_by = true);

// `network info NAME` from GET /1.0/networks/NAME/state.
std::string network_info(const std::string& name, const nlohmann::json& state);

// `network list-leases` in a --format (no LOCATION column: lodged is never
// a cluster).
std::string lease_list(const std::string& format, const nlohmann::json& leases);

// Go's units.GetByteSizeString(n, 2): "512B", "3.02kB".
std::string decimal_byte_size(uint64_t bytes);

// The NIC `network attach` adds to an instance: {type: nic, network: NET}
// for a managed network when the server has instance_nic_network, else a
// macvlan on the interface (bridged when it is a bridge). `name` is the
// interface inside the instance.
nlohmann::json instance_nic_for(const nlohmann::json& network, bool nic_network_extension,
                                const std::optional<std::string>& name);
// The NIC `network attach-profile` adds: always parent= (lxc 5.0.2 does not
// use network= for profiles).
nlohmann::json profile_nic_for(const nlohmann::json& network, const std::optional<std::string>& name);

// The device of `devices` that detach removes: `device` when given (Error
// when it is missing or not a NIC on the network), else the one NIC whose
// network or parent is the network (Error when none or several).
std::string nic_to_detach(const nlohmann::json& devices, const std::string& network,
                          const std::optional<std::string>& device);

// api.NetworkPut from the YAML of `network edit`: config and description;
// the rest is shown but not taken.
nlohmann::json parse_network_yaml(const std::string& text);

} // namespace lodge::cli
