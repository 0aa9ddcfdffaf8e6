// What the networks' files share: reading a network's config.
#pragma once

#include "api/network.hpp"
#include "network/address.hpp"
#include "profiles/values.hpp"

#include <optional>
#include <string>

namespace lodge::daemon::networks {

using profiles::truthy;
using profiles::value_of;

inline std::optional<network::Ipv4Net> ipv4_of(const api::ConfigMap& c) {
    const auto v = value_of(c, "ipv4.address");
    if (v.empty() || v == "none") return std::nullopt;
    return network::parse_ipv4_cidr(v);
}

inline std::optional<network::Ipv6Net> ipv6_of(const api::ConfigMap& c) {
    const auto v = value_of(c, "ipv6.address");
    if (v.empty() || v == "none") return std::nullopt;
    return network::parse_ipv6_cidr(v);
}

} // namespace lodge::daemon::networks
