// dnsmasq's argv, lease file and static hosts; and, as root, a real dnsmasq
// with that argv handing a lease to a DHCP client in another namespace.
#include "network/dnsmasq.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctime>
#include <optional>

#include "../temp_dir.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "netns.hpp"
#include "network/netlink.hpp"

using namespace lodge::network;

namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
    return s;
}

DnsmasqConfig lodgetest0(const std::string& dir) {
    DnsmasqConfig c;
    c.bridge = "lodgetest0";
    c.dir = dir;
    c.ipv4 = parse_ipv4_cidr("10.123.0.1/24");
    return c;
}

bool found_in_path(const std::string& program) {
    for (const char* d : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"})
        if (::access((std::string(d) + program).c_str(), X_OK) == 0) return true;
    return false;
}

// A child process of the test, killed and reaped however the test ends.
struct Child {
    pid_t pid = -1;
    ~Child() { stop(); }
    void stop() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    int wait() {
        int status = 0;
        ::waitpid(pid, &status, 0);
        pid = -1;
        return status;
    }
};

// fork + exec from the calling thread, so the child starts in this thread's
// netns (or in netns_fd's when given); output goes to log.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, int netns_fd = -1) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) < 0) ::_exit(126);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

} // namespace

TEST(NetworkDnsmasq, ArgvMatchesLxdShape) {
    auto args = dnsmasq_args(lodgetest0("/var/lib/lodge/networks/lodgetest0"));
    // LXD's (reference network/dnsmasq-cmdline.txt) with a hosts dir instead of
    // a hosts file, no raw config file and no group of its own.
    EXPECT_EQ(joined(args),
              "dnsmasq --keep-in-foreground --strict-order --bind-interfaces --except-interface=lo --pid-file= "
              "--no-ping --interface=lodgetest0 --dhcp-rapid-commit --quiet-dhcp --quiet-dhcp6 --quiet-ra "
              "--listen-address=10.123.0.1 --dhcp-no-override --dhcp-authoritative "
              "--dhcp-leasefile=/var/lib/lodge/networks/lodgetest0/dnsmasq.leases "
              "--dhcp-hostsdir=/var/lib/lodge/networks/lodgetest0/dnsmasq.hosts "
              "--dhcp-range 10.123.0.2,10.123.0.254,1h -s lxd --interface-name _gateway.lxd,lodgetest0 -S /lxd/ "
              "--conf-file=/dev/null -u nobody");
}

TEST(NetworkDnsmasq, ArgvRangesMtuIpv6Domain) {
    auto c = lodgetest0("/d");
    c.ipv4 = parse_ipv4_cidr("10.5.0.1/16");
    c.ranges = parse_ipv4_ranges("10.5.0.10-10.5.0.20,10.5.1.0-10.5.1.255", *c.ipv4);
    c.mtu = 1400;
    c.domain = "example.test";
    c.ipv6 = parse_ipv6_cidr("fd42:1:2:3::1/64");
    auto s = joined(dnsmasq_args(c));
    EXPECT_NE(s.find("--dhcp-range 10.5.0.10,10.5.0.20,1h --dhcp-range 10.5.1.0,10.5.1.255,1h "), std::string::npos)
        << s;
    EXPECT_EQ(s.find("10.5.0.2,"), std::string::npos) << s;
    EXPECT_NE(s.find("--dhcp-option-force=26,1400"), std::string::npos) << s;
    EXPECT_NE(s.find("--listen-address=10.5.0.1 --listen-address=fd42:1:2:3::1 "), std::string::npos) << s;
    EXPECT_NE(s.find("--enable-ra --dhcp-range ::,constructor:lodgetest0,ra-stateless,ra-names"), std::string::npos)
        << s;
    EXPECT_NE(s.find("-s example.test --interface-name _gateway.example.test,lodgetest0 -S /example.test/"),
              std::string::npos)
        << s;

    // A /16's default range runs to the broadcast address minus one.
    c.ranges.clear();
    s = joined(dnsmasq_args(c));
    EXPECT_NE(s.find("--dhcp-range 10.5.0.2,10.5.255.254,1h"), std::string::npos) << s;

    // No DHCPv4: no v4 range, no lease options unless IPv6 wants them.
    c.dhcp4 = false;
    c.ipv6.reset();
    s = joined(dnsmasq_args(c));
    EXPECT_EQ(s.find("--dhcp-range"), std::string::npos) << s;
    EXPECT_EQ(s.find("--dhcp-leasefile"), std::string::npos) << s;
    EXPECT_NE(s.find("--listen-address=10.5.0.1"), std::string::npos) << s;

    c.dhcp4 = true;
    c.ipv4 = parse_ipv4_cidr("10.5.0.1/31");
    EXPECT_THROW(dnsmasq_args(c), lodge::Error);
    c.bridge = "bad/name";
    EXPECT_THROW(dnsmasq_args(c), lodge::Error);
}

TEST(NetworkDnsmasq, ReadsLeaseFile) {
    lodge::TempDir dir;
    EXPECT_TRUE(read_leases(dir.path() + "/dnsmasq.leases").empty());
    lodge::write_file_atomic(dir.path() + "/dnsmasq.leases",
                             "1764003600 00:16:3e:aa:bb:cc 10.123.0.55 c1 01:00:16:3e:aa:bb:cc\n"
                             "1764003700 00:16:3e:11:22:33 10.123.0.56 * *\n"
                             "duid 00:01:00:01:2c:3d:4e:5f:00:16:3e:00:00:01\n"
                             "1764003800 1234567 fd42:1:2:3::9 c3 00:01:00:01:2c:3d\n"
                             "garbage\n"
                             "\n");
    auto leases = read_leases(dir.path() + "/dnsmasq.leases");
    ASSERT_EQ(leases.size(), 2u);
    EXPECT_EQ(leases[0].expiry, 1764003600);
    EXPECT_EQ(leases[0].hwaddr, "00:16:3e:aa:bb:cc");
    EXPECT_EQ(leases[0].address, "10.123.0.55");
    EXPECT_EQ(leases[0].hostname, "c1");
    EXPECT_EQ(leases[1].hostname, "");
    EXPECT_EQ(leases[1].address, "10.123.0.56");
}

TEST(NetworkDnsmasq, StaticHostFiles) {
    lodge::TempDir dir;
    EXPECT_TRUE(static_hosts(dir.path()).empty());
    write_static_host(dir.path(), "c1", "00:16:3e:00:00:01", "10.123.0.10");
    write_static_host(dir.path(), "c2", "00:16:3e:00:00:02", "");
    EXPECT_EQ(lodge::read_file(dir.path() + "/dnsmasq.hosts/c1"), "00:16:3e:00:00:01,10.123.0.10,c1\n");
    EXPECT_EQ(lodge::read_file(dir.path() + "/dnsmasq.hosts/c2"), "00:16:3e:00:00:02,c2\n");
    auto hosts = static_hosts(dir.path());
    ASSERT_EQ(hosts.size(), 2u);
    EXPECT_EQ(hosts[0].hwaddr, "00:16:3e:00:00:01");
    EXPECT_EQ(hosts[0].address, "10.123.0.10");
    EXPECT_EQ(hosts[0].hostname, "c1");
    EXPECT_EQ(hosts[1].address, "");
    EXPECT_EQ(hosts[1].hostname, "c2");

    write_static_host(dir.path(), "c1", "00:16:3e:00:00:01", "10.123.0.11"); // replaced, not added
    EXPECT_EQ(static_hosts(dir.path())[0].address, "10.123.0.11");
    remove_static_host(dir.path(), "c1");
    remove_static_host(dir.path(), "c1");
    ASSERT_EQ(static_hosts(dir.path()).size(), 1u);

    EXPECT_THROW(write_static_host(dir.path(), "../x", "00:16:3e:00:00:01", ""), lodge::Error);
    EXPECT_THROW(write_static_host(dir.path(), ".hidden", "00:16:3e:00:00:01", ""), lodge::Error);
    EXPECT_THROW(write_static_host(dir.path(), "c3", "nonsense", ""), lodge::Error);
    EXPECT_THROW(write_static_host(dir.path(), "c3", "00:16:3e:00:00:03", "10.1.2"), lodge::Error);
    EXPECT_EQ(static_hosts(dir.path()).size(), 1u);
}

// The argv against the real thing: dnsmasq on a bridge in one namespace,
// busybox udhcpc on veth peers in another. Static host entries count whether
// written before dnsmasq starts or while it runs (the hosts dir is watched).
TEST(NetworkDnsmasq, ServesDhcpOnABridge) {
    NETWORK_REQUIRE_ROOT();
    if (!found_in_path("dnsmasq")) GTEST_SKIP() << "dnsmasq is not installed";
    if (!found_in_path("busybox")) GTEST_SKIP() << "busybox is not installed";
    lodge::TempDir dir;
    // dnsmasq reads the hosts dir after dropping to nobody.
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    auto client_ns = lodge::test::new_netns_fd();
    ASSERT_TRUE(client_ns);
    const std::string log = dir.path() + "/test.log";

    lodge::test::in_new_netns([&] {
        Netlink nl;
        nl.create_bridge("lodgetest0", 0, random_mac());
        nl.set_up("lodgetest0", true);
        nl.add_address("lodgetest0", "10.123.0.1", 24);
        nl.add_address("lodgetest0", "fd42:123::1", 64);
        auto plug_client = [&](int n, const std::string& mac) {
            std::string host = "lodgeh" + std::to_string(n), peer = "lodgep" + std::to_string(n);
            nl.create_veth(host, peer, mac, 0);
            nl.set_master(host, "lodgetest0");
            nl.set_up(host, true);
            nl.move_to_namespace(peer, client_ns.get(), "eth" + std::to_string(n));
            Netlink::in_namespace(client_ns.get()).set_up("eth" + std::to_string(n), true);
        };
        // udhcpc retries on its own while dnsmasq starts; -n: give up without a lease.
        auto lease_for = [&](int n, const std::string& mac) -> std::optional<Lease> {
            Child client{spawn({"busybox", "udhcpc", "-i", "eth" + std::to_string(n), "-n", "-q", "-f", "-s",
                                "/bin/true", "-t", "10", "-T", "1"},
                               log, client_ns.get())};
            int status = client.wait();
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "udhcpc on eth" << n << " got no lease; log:\n"
                << lodge::read_file_if_exists(log);
            for (const auto& l : read_leases(dir.path() + "/dnsmasq.leases"))
                if (l.hwaddr == mac) return l;
            return std::nullopt;
        };
        const std::string mac0 = "00:16:3e:00:00:42", mac1 = "00:16:3e:00:00:43", mac2 = "00:16:3e:00:00:44";
        plug_client(0, mac0);
        plug_client(1, mac1);
        plug_client(2, mac2);

        write_static_host(dir.path(), "c0", mac0, "10.123.0.42");
        // The whole argv: router advertisements and the MTU option too.
        auto config = lodgetest0(dir.path());
        config.ipv6 = parse_ipv6_cidr("fd42:123::1/64");
        config.mtu = 1400;
        Child dnsmasq{spawn(dnsmasq_args(config), log)};
        ASSERT_GT(dnsmasq.pid, 0);

        auto l0 = lease_for(0, mac0);
        ASSERT_TRUE(l0) << lodge::read_file_if_exists(dir.path() + "/dnsmasq.leases");
        EXPECT_EQ(l0->address, "10.123.0.42");
        EXPECT_EQ(l0->hostname, "c0");
        EXPECT_GT(l0->expiry, static_cast<int64_t>(std::time(nullptr)));

        write_static_host(dir.path(), "c1", mac1, "10.123.0.43");
        auto l1 = lease_for(1, mac1);
        ASSERT_TRUE(l1) << lodge::read_file_if_exists(dir.path() + "/dnsmasq.leases");
        EXPECT_EQ(l1->address, "10.123.0.43");
        EXPECT_EQ(l1->hostname, "c1");

        // No entry: an address from the default range.
        auto l2 = lease_for(2, mac2);
        ASSERT_TRUE(l2) << lodge::read_file_if_exists(dir.path() + "/dnsmasq.leases");
        auto a2 = parse_ipv4(l2->address);
        ASSERT_TRUE(a2) << l2->address;
        EXPECT_GE(*a2, *parse_ipv4("10.123.0.2"));
        EXPECT_LE(*a2, *parse_ipv4("10.123.0.254"));
        EXPECT_NE(l2->address, "10.123.0.42");
        EXPECT_NE(l2->address, "10.123.0.43");
        EXPECT_EQ(read_leases(dir.path() + "/dnsmasq.leases").size(), 3u);
        dnsmasq.stop();
    });
}
