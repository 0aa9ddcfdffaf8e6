// Links, addresses, routes and namespace moves over rtnetlink, each test in
// network namespaces it creates (root only).
#include "network/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/file.hpp"
#include "netns.hpp"

using namespace lodge::network;
using lodge::test::in_new_netns;
using lodge::test::new_netns_fd;

namespace {

template <typename F> int status_of(F&& f) {
    try {
        f();
    } catch (const lodge::Error& e) {
        return e.status();
    }
    return 0;
}

bool has_address(const std::vector<AddressInfo>& all, const std::string& ifname, const std::string& address,
                 unsigned prefix) {
    return std::any_of(all.begin(), all.end(), [&](const AddressInfo& a) {
        return a.interface == ifname && a.address == address && a.prefix == prefix;
    });
}

// Sends one raw Ethernet frame out of ifname (from this thread's netns).
void send_frame(int ifindex) {
    lodge::UniqueFd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(s) << std::strerror(errno);
    unsigned char frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03, 0x88, 0xb5};
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    ASSERT_EQ(::sendto(s.get(), frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              ssize_t(sizeof frame))
        << std::strerror(errno);
}

} // namespace

TEST(NetworkNetlink, LoopbackIsListed) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        Netlink nl;
        auto lo = nl.link("lo");
        ASSERT_TRUE(lo);
        EXPECT_EQ(lo->type, "loopback");
        EXPECT_EQ(lo->hwaddr, "");
        EXPECT_EQ(lo->kind, "");
        EXPECT_EQ(lo->index, 1);
        EXPECT_FALSE(lo->up); // a new namespace's lo starts down
        EXPECT_EQ(lo->state, "down");
        EXPECT_FALSE(nl.link("lodgenone0"));
        auto all = nl.links();
        ASSERT_EQ(all.size(), 1u);
        EXPECT_EQ(all[0].name, "lo");
        nl.set_up("lo", true);
        EXPECT_TRUE(nl.link("lo")->up);
        auto addrs = nl.addresses();
        ASSERT_TRUE(has_address(addrs, "lo", "127.0.0.1", 8));
        for (const auto& a : addrs)
            if (a.address == "127.0.0.1") {
                EXPECT_EQ(a.scope, "local");
            }
    });
}

TEST(NetworkNetlink, BridgeWithVethPort) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        Netlink nl;
        nl.create_bridge("lodgebr0", 1400, "00:16:3e:11:22:33");
        auto br = nl.link("lodgebr0");
        ASSERT_TRUE(br);
        EXPECT_EQ(br->kind, "bridge");
        EXPECT_EQ(br->mtu, 1400u);
        EXPECT_EQ(br->hwaddr, "00:16:3e:11:22:33");
        EXPECT_EQ(br->type, "broadcast");
        EXPECT_FALSE(br->up);
        EXPECT_EQ(status_of([&] { nl.create_bridge("lodgebr0", 0, ""); }), 409);
        EXPECT_EQ(status_of([&] { nl.create_bridge("bad/name", 0, ""); }), 400);
        EXPECT_EQ(status_of([&] { nl.create_bridge("lodgebr9", 0, "01:00:5e:00:00:01"); }), 400);
        EXPECT_FALSE(nl.link("lodgebr9"));

        nl.create_veth("lodgeh0", "lodgep0", "00:16:3e:aa:bb:cc", 1400);
        auto host = nl.link("lodgeh0");
        auto peer = nl.link("lodgep0");
        ASSERT_TRUE(host && peer);
        EXPECT_EQ(host->kind, "veth");
        EXPECT_EQ(peer->kind, "veth");
        EXPECT_EQ(peer->hwaddr, "00:16:3e:aa:bb:cc");
        EXPECT_EQ(host->mtu, 1400u);
        EXPECT_EQ(peer->mtu, 1400u);
        EXPECT_FALSE(host->up || peer->up);
        EXPECT_EQ(status_of([&] { nl.create_veth("lodgeh0", "lodgep9", "", 0); }), 409);

        nl.set_master("lodgeh0", "lodgebr0");
        EXPECT_EQ(nl.link("lodgeh0")->master, br->index);
        nl.set_master("lodgeh0", "");
        EXPECT_EQ(nl.link("lodgeh0")->master, 0);
        nl.set_master("lodgeh0", "lodgebr0");
        EXPECT_EQ(status_of([&] { nl.set_master("lodgeh0", "lodgenone0"); }), 404);

        nl.set_mtu("lodgep0", 1300);
        EXPECT_EQ(nl.link("lodgep0")->mtu, 1300u);
        nl.set_hwaddr("lodgep0", "00:16:3e:00:00:01");
        EXPECT_EQ(nl.link("lodgep0")->hwaddr, "00:16:3e:00:00:01");
        EXPECT_EQ(status_of([&] { nl.set_up("lodgenone0", true); }), 404);
        EXPECT_EQ(status_of([&] { nl.set_mtu("lodgenone0", 1500); }), 404);

        nl.set_up("lodgebr0", true);
        EXPECT_TRUE(nl.link("lodgebr0")->up);
        EXPECT_EQ(nl.link("lodgebr0")->state, "up");
        nl.set_up("lodgebr0", false);
        EXPECT_FALSE(nl.link("lodgebr0")->up);

        // Deleting one end of a veth pair deletes both.
        EXPECT_TRUE(nl.delete_link("lodgeh0"));
        EXPECT_FALSE(nl.link("lodgep0"));
        EXPECT_TRUE(nl.delete_link("lodgebr0"));
        EXPECT_FALSE(nl.delete_link("lodgebr0"));
        EXPECT_EQ(nl.links().size(), 1u);
    });
}

TEST(NetworkNetlink, AddressesAndRoutes) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        Netlink nl;
        nl.create_bridge("lodgebr0", 0, "");
        nl.set_up("lodgebr0", true);
        nl.add_address("lodgebr0", "10.99.0.1", 24);
        nl.add_address("lodgebr0", "10.99.0.1", 24); // already there: fine
        nl.add_address("lodgebr0", "fd42:99::1", 64);
        EXPECT_EQ(status_of([&] { nl.add_address("lodgebr0", "10.99.0.300", 24); }), 400);
        EXPECT_EQ(status_of([&] { nl.add_address("lodgebr0", "10.99.0.2", 33); }), 400);
        EXPECT_EQ(status_of([&] { nl.add_address("lodgenone0", "10.98.0.1", 24); }), 404);

        auto addrs = nl.addresses();
        EXPECT_TRUE(has_address(addrs, "lodgebr0", "10.99.0.1", 24));
        EXPECT_TRUE(has_address(addrs, "lodgebr0", "fd42:99::1", 64));
        for (const auto& a : addrs) {
            if (a.address == "10.99.0.1") {
                EXPECT_EQ(a.family, "inet");
                EXPECT_EQ(a.scope, "global");
            }
            if (a.address == "fd42:99::1") {
                EXPECT_EQ(a.family, "inet6");
            }
        }

        auto v4 = nl.routes("inet");
        ASSERT_EQ(v4.size(), 1u);
        EXPECT_EQ(v4[0].destination, "10.99.0.0");
        EXPECT_EQ(v4[0].prefix, 24u);
        EXPECT_EQ(v4[0].interface, "lodgebr0");
        EXPECT_EQ(v4[0].family, "inet");
        auto v6 = nl.routes("inet6");
        EXPECT_TRUE(std::any_of(v6.begin(), v6.end(), [](const RouteInfo& r) {
            return r.destination == "fd42:99::" && r.prefix == 64 && r.interface == "lodgebr0";
        }));
        // Local and broadcast routes (table local) are not listed.
        for (const auto& r : v4) EXPECT_NE(r.destination, "10.99.0.1");
        EXPECT_EQ(status_of([&] { nl.routes("ipx"); }), 400);

        nl.flush_addresses("lodgebr0");
        for (const auto& a : nl.addresses()) EXPECT_NE(a.interface, "lodgebr0") << a.address;
        EXPECT_TRUE(nl.routes("inet").empty());
    });
}

TEST(NetworkNetlink, CountersFollowTraffic) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        Netlink nl;
        nl.create_veth("lodgeh0", "lodgep0", "", 0);
        nl.set_up("lodgeh0", true);
        nl.set_up("lodgep0", true);
        auto before = nl.link("lodgep0")->counters;
        for (int i = 0; i < 3; ++i) send_frame(nl.link("lodgep0")->index);
        auto sender = nl.link("lodgep0")->counters;
        auto receiver = nl.link("lodgeh0")->counters;
        EXPECT_GE(sender.tx_packets, before.tx_packets + 3);
        EXPECT_GE(sender.tx_bytes, before.tx_bytes + 180);
        EXPECT_GE(receiver.rx_packets, 3u);
    });
}

TEST(NetworkNetlink, MoveToNamespaceRenames) {
    NETWORK_REQUIRE_ROOT();
    auto other = new_netns_fd();
    ASSERT_TRUE(other);
    in_new_netns([&] {
        Netlink nl;
        nl.create_veth("lodgeh0", "lodgep0", "00:16:3e:00:00:07", 0);
        nl.move_to_namespace("lodgep0", other.get(), "eth0");
        EXPECT_FALSE(nl.link("lodgep0"));
        EXPECT_TRUE(nl.link("lodgeh0"));

        auto inside = Netlink::in_namespace(other.get());
        auto eth0 = inside.link("eth0");
        ASSERT_TRUE(eth0);
        EXPECT_EQ(eth0->kind, "veth");
        EXPECT_EQ(eth0->hwaddr, "00:16:3e:00:00:07");
        EXPECT_FALSE(inside.link("lodgeh0"));
        inside.set_up("eth0", true);
        inside.add_address("eth0", "10.97.0.2", 24);
        EXPECT_TRUE(has_address(inside.addresses(), "eth0", "10.97.0.2", 24));
        EXPECT_TRUE(nl.addresses().end() ==
                    std::find_if(nl.addresses().begin(), nl.addresses().end(),
                                 [](const AddressInfo& a) { return a.address == "10.97.0.2"; }));

        // The name is taken in the target namespace: nothing moves.
        nl.create_veth("lodgeh1", "lodgep1", "", 0);
        EXPECT_EQ(status_of([&] { nl.move_to_namespace("lodgep1", other.get(), "eth0"); }), 409);
        EXPECT_TRUE(nl.link("lodgep1"));
        EXPECT_FALSE(inside.link("lodgep1"));
        EXPECT_EQ(status_of([&] { nl.move_to_namespace("lodgenone0", other.get(), "eth1"); }), 404);

        // A socket opened through /proc/TID/ns/net sees this thread's namespace.
        auto self = Netlink::in_namespace_of(static_cast<pid_t>(::syscall(SYS_gettid)));
        EXPECT_TRUE(self.link("lodgeh1"));

        // Deleting the host end from here removes the moved peer too.
        EXPECT_TRUE(nl.delete_link("lodgeh0"));
        EXPECT_FALSE(inside.link("eth0"));
    });
}

TEST(NetworkNetlink, Macvlan) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        Netlink nl;
        nl.create_bridge("lodgebr0", 0, "");
        nl.create_macvlan("lodgemv0", "lodgebr0", "bridge", "00:16:3e:00:00:09", 1400);
        auto mv = nl.link("lodgemv0");
        ASSERT_TRUE(mv);
        EXPECT_EQ(mv->kind, "macvlan");
        EXPECT_EQ(mv->hwaddr, "00:16:3e:00:00:09");
        EXPECT_EQ(mv->mtu, 1400u);
        EXPECT_EQ(status_of([&] { nl.create_macvlan("lodgemv1", "lodgebr0", "sideways", "", 0); }), 400);
        EXPECT_EQ(status_of([&] { nl.create_macvlan("lodgemv1", "lodgenone0", "bridge", "", 0); }), 404);
        EXPECT_EQ(status_of([&] { nl.create_macvlan("lodgemv0", "lodgebr0", "bridge", "", 0); }), 409);
    });
}

TEST(NetworkNetlink, ForwardingIsPerNamespace) {
    NETWORK_REQUIRE_ROOT();
    in_new_netns([] {
        enable_forwarding(true, true);
        EXPECT_EQ(lodge::read_file("/proc/sys/net/ipv4/ip_forward"), "1\n");
        EXPECT_EQ(lodge::read_file("/proc/sys/net/ipv6/conf/all/forwarding"), "1\n");
    });
}
