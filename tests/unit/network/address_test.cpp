// Address parsing, overlap, subnet picking, DHCP ranges, MACs and interface names.
#include "network/address.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"

using namespace lodge::network;

TEST(NetworkAddress, ParsesDottedQuadsOnly) {
    EXPECT_EQ(parse_ipv4("10.1.2.3"), 0x0a010203u);
    EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
    EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
    for (const char* bad : {"", "10.1.2", "10.1.2.3.4", "10.1.2.256", "10.1.2.03", "10.1.2.", ".1.2.3", "a.b.c.d",
                            "10.1.2.3 ", "10..2.3", "1e1.1.1.1", "-1.1.1.1"})
        EXPECT_FALSE(parse_ipv4(bad)) << bad;
    EXPECT_EQ(ipv4_str(0x0a010203u), "10.1.2.3");
}

TEST(NetworkAddress, Ipv4NetAccessors) {
    auto n = parse_ipv4_cidr("10.1.2.1/24");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->str(), "10.1.2.1/24");
    EXPECT_EQ(n->network_str(), "10.1.2.0/24");
    EXPECT_EQ(n->address_str(), "10.1.2.1");
    EXPECT_EQ(ipv4_str(n->broadcast()), "10.1.2.255");
    EXPECT_TRUE(n->contains(*parse_ipv4("10.1.2.200")));
    EXPECT_FALSE(n->contains(*parse_ipv4("10.1.3.1")));
    auto all = parse_ipv4_cidr("0.0.0.0/0");
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->contains(*parse_ipv4("192.168.1.1")));
    EXPECT_EQ(all->broadcast(), 0xffffffffu);
    auto host = parse_ipv4_cidr("10.0.0.7/32");
    ASSERT_TRUE(host);
    EXPECT_EQ(host->network(), host->broadcast());
    for (const char* bad : {"10.1.2.1", "10.1.2.1/33", "10.1.2.1/", "10.1.2.1/-1", "/24", "10.1.2.1/24x"})
        EXPECT_FALSE(parse_ipv4_cidr(bad)) << bad;
}

TEST(NetworkAddress, Ipv4Overlaps) {
    auto a = *parse_ipv4_cidr("10.1.2.1/24");
    EXPECT_TRUE(a.overlaps(*parse_ipv4_cidr("10.1.2.77/24")));
    EXPECT_TRUE(a.overlaps(*parse_ipv4_cidr("10.0.0.0/8")));
    EXPECT_TRUE(parse_ipv4_cidr("10.0.0.0/8")->overlaps(a));
    EXPECT_TRUE(a.overlaps(*parse_ipv4_cidr("10.1.2.128/25")));
    EXPECT_FALSE(a.overlaps(*parse_ipv4_cidr("10.1.3.1/24")));
    EXPECT_FALSE(a.overlaps(*parse_ipv4_cidr("192.168.0.1/16")));
}

TEST(NetworkAddress, Ipv6ParseAndOverlap) {
    auto n = parse_ipv6_cidr("fd42:1:2:3::1/64");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->str(), "fd42:1:2:3::1/64");
    EXPECT_EQ(n->network_str(), "fd42:1:2:3::/64");
    EXPECT_EQ(n->address_str(), "fd42:1:2:3::1");
    EXPECT_EQ(parse_ipv6_cidr("FD42:0001:0002:0003:0000::1/64")->str(), "fd42:1:2:3::1/64");
    EXPECT_EQ(parse_ipv6_cidr("fd42:1:2:3:4:5:6:7/60")->network_str(), "fd42:1:2::/60");
    EXPECT_TRUE(n->overlaps(*parse_ipv6_cidr("fd42:1:2:3:ffff::/80")));
    EXPECT_TRUE(n->overlaps(*parse_ipv6_cidr("fd42::/16")));
    EXPECT_FALSE(n->overlaps(*parse_ipv6_cidr("fd42:1:2:4::1/64")));
    for (const char* bad : {"fd42::1", "fd42::1/129", "fd42:::1/64", "10.1.2.3/24", "/64", "fd42::1/6x"})
        EXPECT_FALSE(parse_ipv6_cidr(bad)) << bad;
}

TEST(NetworkAddress, PicksFreePrivateIpv4Subnets) {
    std::vector<Ipv4Net> taken;
    std::set<uint32_t> seen;
    for (int i = 0; i < 50; ++i) {
        auto n = pick_ipv4_subnet(taken);
        EXPECT_EQ(n.prefix, 24);
        EXPECT_EQ(n.address >> 24, 10u);
        unsigned a = (n.address >> 16) & 0xff;
        EXPECT_TRUE(a != 0 && a != 255) << n.str();
        EXPECT_EQ(n.address & 0xff, 1u);
        for (const auto& t : taken) EXPECT_FALSE(n.overlaps(t)) << n.str() << " vs " << t.str();
        taken.push_back(n);
    }
    // With all of 10/8 but one /24 taken (its sibling blocks of /9 .. /24), that one is found.
    uint32_t free_net = *parse_ipv4("10.77.5.0");
    std::vector<Ipv4Net> almost;
    for (uint8_t p = 9; p <= 24; ++p) almost.push_back({free_net ^ (1u << (32 - p)), p});
    EXPECT_EQ(pick_ipv4_subnet(almost).str(), "10.77.5.1/24");
    EXPECT_THROW(pick_ipv4_subnet({*parse_ipv4_cidr("10.0.0.0/8")}), lodge::Error);
}

TEST(NetworkAddress, PicksFreeUlaSubnets) {
    std::vector<Ipv6Net> taken{*parse_ipv6_cidr("fd42::/20")};
    for (int i = 0; i < 20; ++i) {
        auto n = pick_ipv6_subnet(taken);
        EXPECT_EQ(n.prefix, 64);
        EXPECT_EQ(n.str().substr(0, 5), "fd42:") << n.str();
        EXPECT_EQ(n.str().substr(n.str().size() - 6), "::1/64") << n.str();
        for (const auto& t : taken) EXPECT_FALSE(n.overlaps(t)) << n.str();
        taken.push_back(n);
    }
    EXPECT_THROW(pick_ipv6_subnet({*parse_ipv6_cidr("fd00::/8")}), lodge::Error);
}

TEST(NetworkAddress, ParsesDhcpRanges) {
    auto net = *parse_ipv4_cidr("10.0.0.1/24");
    auto r = parse_ipv4_ranges("10.0.0.10-10.0.0.50, 10.0.0.60 - 10.0.0.70", net);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(ipv4_str(r[0].first), "10.0.0.10");
    EXPECT_EQ(ipv4_str(r[0].last), "10.0.0.50");
    EXPECT_EQ(ipv4_str(r[1].first), "10.0.0.60");
    EXPECT_EQ(ipv4_str(r[1].last), "10.0.0.70");
    auto single = parse_ipv4_ranges("10.0.0.5-10.0.0.5", net);
    ASSERT_EQ(single.size(), 1u);

    auto error_for = [&](const char* s) -> std::string {
        try {
            parse_ipv4_ranges(s, net);
        } catch (const lodge::Error& e) {
            EXPECT_EQ(e.status(), 400);
            return e.what();
        }
        return "no error";
    };
    EXPECT_NE(error_for("10.0.0.50-10.0.0.10").find("10.0.0.50-10.0.0.10"), std::string::npos);
    EXPECT_NE(error_for("10.0.0.10-10.0.1.10").find("10.0.0.0/24"), std::string::npos);
    EXPECT_NE(error_for("10.0.0.10-10.0.0.20,10.0.0.x-10.0.0.30").find("10.0.0.x-10.0.0.30"), std::string::npos);
    EXPECT_NE(error_for("10.0.0.10").find("10.0.0.10"), std::string::npos);
    EXPECT_NE(error_for(""), "no error");
}

TEST(NetworkAddress, MacAddresses) {
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
        auto m = random_mac();
        EXPECT_EQ(m.substr(0, 9), "00:16:3e:");
        EXPECT_TRUE(valid_mac(m)) << m;
        seen.insert(m);
    }
    EXPECT_GT(seen.size(), 15u);
    EXPECT_TRUE(valid_mac("aa:bb:cc:dd:ee:ff"));
    EXPECT_TRUE(valid_mac("AA:BB:CC:DD:EE:FF"));
    for (const char* bad : {"", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "aa:bb:cc:dd:ee", "aa-bb-cc-dd-ee-ff",
                            "aa:bb:cc:dd:ee:fg", "aa:bb:cc:dd:ee:ff:00", "aabb.ccdd.eeff.."})
        EXPECT_FALSE(valid_mac(bad)) << bad;
}

TEST(NetworkAddress, InterfaceNames) {
    auto v = random_veth_name();
    EXPECT_EQ(v.size(), 12u);
    EXPECT_EQ(v.substr(0, 4), "veth");
    EXPECT_EQ(v.find_first_not_of("0123456789abcdef", 4), std::string::npos) << v;
    EXPECT_TRUE(valid_interface_name(v));
    EXPECT_NE(random_veth_name(), random_veth_name());
    EXPECT_TRUE(valid_interface_name("lxdbr0"));
    EXPECT_TRUE(valid_interface_name("a"));
    EXPECT_TRUE(valid_interface_name("abcdefghijklmno"));
    for (const char* bad : {"", ".", "..", "abcdefghijklmnop", "a/b", "a:b", "a b", "a\tb"})
        EXPECT_FALSE(valid_interface_name(bad)) << bad;
}
