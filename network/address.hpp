// Addresses, subnets and interface names of managed networks: parsing,
// overlap checks, picking free private subnets, random MACs and veth names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lodge::network {

struct Ipv4Net {
    uint32_t address = 0; // host byte order; the address as written (the gateway for a bridge)
    uint8_t prefix = 0;
    uint32_t network() const;
    uint32_t broadcast() const;
    bool contains(uint32_t a) const;
    bool overlaps(const Ipv4Net& o) const;
    std::string str() const;         // "10.1.2.1/24"
    std::string network_str() const; // "10.1.2.0/24"
    std::string address_str() const; // "10.1.2.1"
};

// Dotted quad only ("10.1.2.3"); no shorthand forms.
std::optional<uint32_t> parse_ipv4(std::string_view s);
std::string ipv4_str(uint32_t a);
// "10.1.2.1/24", prefix 0..32; the caller checks what it accepts.
std::optional<Ipv4Net> parse_ipv4_cidr(std::string_view s);

struct Ipv6Net {
    std::array<uint8_t, 16> address{};
    uint8_t prefix = 0;
    bool overlaps(const Ipv6Net& o) const;
    std::string str() const;         // "fd42:1:2:3::1/64"
    std::string network_str() const; // "fd42:1:2:3::/64"
    std::string address_str() const;
};
std::optional<Ipv6Net> parse_ipv6_cidr(std::string_view s);

// A free private IPv4 /24 (10.A.B.1/24, A and B random, avoiding 10.0.x and
// 10.255.x) overlapping none of `taken`.
Ipv4Net pick_ipv4_subnet(const std::vector<Ipv4Net>& taken);
// A free ULA /64 (fd42:XXXX:XXXX:XXXX::1/64, random) overlapping none of
// `taken`.
Ipv6Net pick_ipv6_subnet(const std::vector<Ipv6Net>& taken);

struct Ipv4Range {
    uint32_t first = 0, last = 0;
};
// "10.0.0.10-10.0.0.50,10.0.0.60-10.0.0.70" (LXD's ipv4.dhcp.ranges);
// Error(400) naming the bad part, also when a range lies outside `within`
// or first > last.
std::vector<Ipv4Range> parse_ipv4_ranges(std::string_view s, const Ipv4Net& within);

// A MAC in LXD's OUI 00:16:3e with three random bytes.
std::string random_mac();
// "aa:bb:cc:dd:ee:ff", unicast (bit 0 of the first byte clear).
bool valid_mac(std::string_view s);
// A random host-side interface name "veth" + 8 hex digits (LXD's shape).
std::string random_veth_name();
// A valid Linux interface name: 1..15 chars, no '/', ':', whitespace, not "."
// or "..".
bool valid_interface_name(std::string_view s);

} // namespace lodge::network
