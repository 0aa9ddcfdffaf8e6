// lodge's nftables table: bridge chains applied, replaced and removed, each
// test in a network namespace it creates (root only).
#include "network/nft.hpp"

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "netns.hpp"

using namespace lodge::network;
using lodge::test::in_new_netns;

namespace {

std::string reference_ruleset() {
    std::ifstream in(std::string(LODGE_SOURCE_DIR) + "/../shared/reference/lxd-5.0.2/network/nft-ruleset.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    // LXD's table is "inet lxd"; lodge's chains live in "inet lodge".
    auto pos = text.find("table inet lxd");
    if (pos != std::string::npos) text.replace(pos, 14, "table inet lodge");
    return text;
}

BridgeRules lodgetest0() {
    BridgeRules r;
    r.bridge = "lodgetest0";
    r.ipv4 = parse_ipv4_cidr("10.123.0.1/24");
    r.nat4 = true;
    return r;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST(NetworkNft, MatchesLxdRulesetAndApplyIsIdempotent) {
    NETWORK_REQUIRE_ROOT();
    auto expected = reference_ruleset();
    ASSERT_FALSE(expected.empty());
    in_new_netns([&] {
        EXPECT_EQ(lodge_ruleset(), "");
        apply_bridge_rules(lodgetest0());
        auto first = lodge_ruleset();
        EXPECT_EQ(first, expected);
        apply_bridge_rules(lodgetest0());
        EXPECT_EQ(lodge_ruleset(), first);
    });
}

TEST(NetworkNft, ReplacesChainsWhenConfigChanges) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        auto r = lodgetest0();
        r.ipv6 = parse_ipv6_cidr("fd42:1:2:3::1/64");
        r.nat6 = true;
        apply_bridge_rules(r);
        auto both = lodge_ruleset();
        EXPECT_TRUE(contains(both, "ip6 saddr fd42:1:2:3::/64 ip6 daddr != fd42:1:2:3::/64 masquerade")) << both;
        EXPECT_TRUE(contains(both, "ip saddr 10.123.0.0/24 ip daddr != 10.123.0.0/24 masquerade")) << both;
        EXPECT_TRUE(contains(both, "udp dport 547 accept")) << both;
        EXPECT_TRUE(contains(both, "icmpv6 type")) << both;

        // No NAT: no postrouting chain at all; IPv6 only: no DHCPv4 port.
        BridgeRules plain;
        plain.bridge = "lodgetest0";
        plain.ipv6 = r.ipv6;
        apply_bridge_rules(plain);
        auto v6only = lodge_ruleset();
        EXPECT_FALSE(contains(v6only, "pstrt.lodgetest0")) << v6only;
        EXPECT_FALSE(contains(v6only, "masquerade")) << v6only;
        EXPECT_FALSE(contains(v6only, "dport 67")) << v6only;
        EXPECT_TRUE(contains(v6only, "ip6 version 6")) << v6only;
        EXPECT_TRUE(contains(v6only, "chain in.lodgetest0")) << v6only;
    });
}

TEST(NetworkNft, RemoveLeavesOtherBridgesThenNoTable) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        remove_bridge_rules("lodgetest0"); // nothing there: fine
        apply_bridge_rules(lodgetest0());
        auto other = lodgetest0();
        other.bridge = "lodgetest1";
        other.ipv4 = parse_ipv4_cidr("10.124.0.1/24");
        apply_bridge_rules(other);
        auto two = lodge_ruleset();
        EXPECT_TRUE(contains(two, "chain fwd.lodgetest0") && contains(two, "chain fwd.lodgetest1")) << two;

        remove_bridge_rules("lodgetest0");
        auto one = lodge_ruleset();
        EXPECT_FALSE(contains(one, "lodgetest0")) << one;
        EXPECT_TRUE(contains(one, "chain pstrt.lodgetest1")) << one;
        remove_bridge_rules("lodgetest0");

        remove_bridge_rules("lodgetest1");
        EXPECT_EQ(lodge_ruleset(), "");
        remove_bridge_rules("lodgetest1");
    });
}

TEST(NetworkNft, RejectsNamesThatWouldChangeTheCommand) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        auto r = lodgetest0();
        for (const char* bad : {"br\"0", "br;0", "br 0", "br{0}", ""}) {
            r.bridge = bad;
            try {
                apply_bridge_rules(r);
                ADD_FAILURE() << "accepted " << bad;
            } catch (const lodge::Error& e) {
                EXPECT_EQ(e.status(), 400) << e.what();
            }
        }
        EXPECT_EQ(lodge_ruleset(), "");
    });
}
