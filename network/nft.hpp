// lodge's firewall rules for managed bridges, all in `table inet lodge`
// (libnftables): NAT and accept rules in chains named like LXD's.
#pragma once

#include <optional>
#include <string>

#include "network/address.hpp"

namespace lodge::network {

struct BridgeRules {
    std::string bridge;
    std::optional<Ipv4Net> ipv4;
    bool nat4 = false;
    std::optional<Ipv6Net> ipv6;
    bool nat6 = false;
};

// Replaces the bridge's chains (pstrt.NAME, fwd.NAME, in.NAME, out.NAME) in
// one nft transaction: creates the table if missing, deletes the old chains,
// adds the new ones.
void apply_bridge_rules(const BridgeRules& rules);
// Removes the bridge's chains; the table too when no chain is left. No error
// when absent.
void remove_bridge_rules(const std::string& bridge);
// `nft list table inet lodge` as text ("" when there is no table).
std::string lodge_ruleset();

} // namespace lodge::network
