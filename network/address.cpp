// Addresses, subnets and names of managed networks (see address.hpp).
#include "network/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <random>

#include "common/error.hpp"

namespace lodge::network {

namespace {

uint32_t mask4(uint8_t prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 3) return std::nullopt;
    // "010" is octal to inet_aton; refusing leading zeros keeps one meaning.
    if (s.size() > 1 && s[0] == '0') return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

std::mt19937_64& rng() {
    thread_local std::mt19937_64 engine{[] {
        std::random_device rd;
        return (uint64_t{rd()} << 32) | rd();
    }()};
    return engine;
}

unsigned random_below(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(rng()); }

std::string ipv6_text(const std::array<uint8_t, 16>& a) {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

std::array<uint8_t, 16> ipv6_masked(const std::array<uint8_t, 16>& a, unsigned prefix) {
    std::array<uint8_t, 16> out{};
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bits = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0;
        out[i] = bits == 0 ? 0 : a[i] & static_cast<uint8_t>(0xff << (8 - bits));
    }
    return out;
}

} // namespace

uint32_t Ipv4Net::network() const { return address & mask4(prefix); }
uint32_t Ipv4Net::broadcast() const { return network() | ~mask4(prefix); }
bool Ipv4Net::contains(uint32_t a) const { return (a & mask4(prefix)) == network(); }

bool Ipv4Net::overlaps(const Ipv4Net& o) const {
    uint8_t p = std::min(prefix, o.prefix);
    return (address & mask4(p)) == (o.address & mask4(p));
}

std::string Ipv4Net::str() const { return ipv4_str(address) + "/" + std::to_string(prefix); }
std::string Ipv4Net::network_str() const { return ipv4_str(network()) + "/" + std::to_string(prefix); }
std::string Ipv4Net::address_str() const { return ipv4_str(address); }

std::optional<uint32_t> parse_ipv4(std::string_view s) {
    uint32_t out = 0;
    for (int i = 0; i < 4; ++i) {
        auto dot = s.find('.');
        if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
        auto part = parse_decimal(s.substr(0, dot), 255);
        if (!part) return std::nullopt;
        out = (out << 8) | *part;
        s = i < 3 ? s.substr(dot + 1) : std::string_view{};
    }
    return out;
}

std::string ipv4_str(uint32_t a) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    return buf;
}

std::optional<Ipv4Net> parse_ipv4_cidr(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = parse_ipv4(s.substr(0, slash));
    auto prefix = parse_decimal(s.substr(slash + 1), 32);
    if (!addr || !prefix) return std::nullopt;
    return Ipv4Net{*addr, static_cast<uint8_t>(*prefix)};
}

bool Ipv6Net::overlaps(const Ipv6Net& o) const {
    unsigned p = std::min(prefix, o.prefix);
    return ipv6_masked(address, p) == ipv6_masked(o.address, p);
}

std::string Ipv6Net::str() const { return address_str() + "/" + std::to_string(prefix); }
std::string Ipv6Net::network_str() const {
    return ipv6_text(ipv6_masked(address, prefix)) + "/" + std::to_string(prefix);
}
std::string Ipv6Net::address_str() const { return ipv6_text(address); }

std::optional<Ipv6Net> parse_ipv6_cidr(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos || slash >= INET6_ADDRSTRLEN) return std::nullopt;
    std::string addr(s.substr(0, slash));
    auto prefix = parse_decimal(s.substr(slash + 1), 128);
    Ipv6Net net;
    if (!prefix || ::inet_pton(AF_INET6, addr.c_str(), net.address.data()) != 1) return std::nullopt;
    net.prefix = static_cast<uint8_t>(*prefix);
    return net;
}

Ipv4Net pick_ipv4_subnet(const std::vector<Ipv4Net>& taken) {
    // 254 * 256 candidates; random tries find a free one quickly unless
    // nearly all of 10/8 is in use, and then the sweep settles it.
    auto free = [&](const Ipv4Net& c) {
        for (const auto& t : taken)
            if (c.overlaps(t)) return false;
        return true;
    };
    auto make = [](unsigned a, unsigned b) { return Ipv4Net{(10u << 24) | (a << 16) | (b << 8) | 1u, 24}; };
    for (int i = 0; i < 200; ++i) {
        auto c = make(1 + random_below(254), random_below(256));
        if (free(c)) return c;
    }
    for (unsigned a = 1; a < 255; ++a)
        for (unsigned b = 0; b < 256; ++b)
            if (auto c = make(a, b); free(c)) return c;
    throw Error(500, "no free IPv4 /24 subnet left in 10.0.0.0/8");
}

Ipv6Net pick_ipv6_subnet(const std::vector<Ipv6Net>& taken) {
    for (int i = 0; i < 1000; ++i) {
        Ipv6Net c;
        c.prefix = 64;
        c.address[0] = 0xfd;
        c.address[1] = 0x42;
        for (int j = 2; j < 8; ++j) c.address[j] = static_cast<uint8_t>(random_below(256));
        c.address[15] = 1;
        bool clash = false;
        for (const auto& t : taken) clash = clash || c.overlaps(t);
        if (!clash) return c;
    }
    throw Error(500, "no free IPv6 /64 subnet found in fd42::/16");
}

std::vector<Ipv4Range> parse_ipv4_ranges(std::string_view s, const Ipv4Net& within) {
    std::vector<Ipv4Range> out;
    while (true) {
        auto comma = s.find(',');
        std::string_view part = trim(s.substr(0, comma));
        auto dash = part.find('-');
        auto bad = [&](const std::string& why) {
            return Error(400, "invalid DHCP range \"" + std::string(part) + "\": " + why);
        };
        if (dash == std::string_view::npos) throw bad("expected FIRST-LAST");
        auto first = parse_ipv4(trim(part.substr(0, dash)));
        auto last = parse_ipv4(trim(part.substr(dash + 1)));
        if (!first || !last) throw bad("not an IPv4 address");
        if (*first > *last) throw bad("first address is after the last");
        if (!within.contains(*first) || !within.contains(*last))
            throw bad("not inside the network's subnet " + within.network_str());
        out.push_back({*first, *last});
        if (comma == std::string_view::npos) break;
        s = s.substr(comma + 1);
    }
    return out;
}

std::string random_mac() {
    char buf[18];
    std::snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", random_below(256), random_below(256), random_below(256));
    return buf;
}

bool valid_mac(std::string_view s) {
    if (s.size() != 17) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i % 3 == 2) {
            if (s[i] != ':') return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    unsigned first = 0;
    std::from_chars(s.data(), s.data() + 2, first, 16);
    return (first & 1) == 0;
}

std::string random_veth_name() {
    char buf[13];
    std::snprintf(buf, sizeof buf, "veth%08x", static_cast<unsigned>(rng()()));
    return buf;
}

bool valid_interface_name(std::string_view s) {
    // The kernel's dev_valid_name(): IFNAMSIZ counts the terminating NUL.
    if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
    for (char c : s)
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) return false;
    return true;
}

} // namespace lodge::network
