// Managed networks end to end, each test with lodged inside a network
// namespace of its own (network_session.hpp): DHCP addresses and names from
// the default bridge's dnsmasq, NAT to an upstream namespace, proxy devices
// plugged into running instances, static addresses that survive restarts of
// the instance and of lodged, bad input refused, and LXD's `lxc` network
// verbs.
#include "tests/integration/network_session.hpp"

#include "common/file.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

namespace lodge::test {
namespace {

using nlohmann::json;

class Network : public NetworkSession {
protected:
    Network() : NetworkSession("lodge-net") {}

    void launch_busybox(const std::string& name, const std::vector<std::string>& extra = {}) {
        if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
        std::vector<std::string> args{"launch", "bb", name};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = lxc(args);
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }

    std::string wait_ipv4(const std::string& name, double timeout_s = 10) {
        std::string address;
        wait_until([&] { return !(address = ipv4_of(name)).empty(); }, timeout_s);
        return address;
    }

    // An HTTP GET from the test namespace (the host side of lodged).
    Result fetch(const std::string& url) { return in(ns_, {"/bin/busybox", "wget", "-q", "-O", "-", url}); }
};

TEST_F(Network, DefaultNetworkGivesAddressesNamesAndRoutes) {
    // The first start made lodgebr0 and put eth0 on it in the default profile.
    auto net = api("GET", "/1.0/networks/lodgebr0")["metadata"];
    ASSERT_EQ(net["managed"], true) << lodged_->log();
    EXPECT_EQ(net["type"], "bridge");
    EXPECT_EQ(net["config"]["ipv4.nat"], "true");
    auto profile = api("GET", "/1.0/profiles/default")["metadata"];
    EXPECT_EQ(profile["devices"]["eth0"]["network"], "lodgebr0");

    // Two debian guests (systemd-networkd) get leases within 10 s of running.
    const auto image = debian_net_image_tarball();
    import(image, "debnet");
    for (const auto* name : {"net-a", "net-b"}) {
        auto r = lxc({"init", "debnet", name});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    for (const auto* name : {"net-a", "net-b"}) {
        auto r = lxc({"start", name});
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }
    const auto started = std::chrono::steady_clock::now();
    const auto a = wait_ipv4("net-a"), b = wait_ipv4("net-b");
    ASSERT_FALSE(a.empty()) << lodged_->log();
    ASSERT_FALSE(b.empty());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    EXPECT_NE(a, b);
    EXPECT_EQ(a.rfind(subnet_prefix("lodgebr0"), 0), 0u) << a;

    // Each resolves the other by name through dnsmasq and pings it.
    Result ping;
    wait_until([&] { return (ping = lxc({"exec", "net-a", "--", "ping", "-4", "-c", "1", "-W", "2", "net-b"})).status == 0; }, 10);
    EXPECT_EQ(ping.status, 0) << ping.out << ping.err;
    EXPECT_NE(ping.out.find(b), std::string::npos) << ping.out;
    // Each guest's resolver takes the DHCP server's DNS a moment after its lease.
    Result back;
    wait_until([&] { return (back = lxc({"exec", "net-b", "--", "ping", "-4", "-c", "1", "-W", "2", "net-a.lxd"})).status == 0; }, 10);
    EXPECT_EQ(back.status, 0) << back.out << back.err;
    EXPECT_NE(back.out.find(a), std::string::npos) << back.out;

    // The leases list both, and the state of the bridge has both veths.
    auto leases = api("GET", "/1.0/networks/lodgebr0/leases")["metadata"];
    std::set<std::string> names;
    for (const auto& l : leases) names.insert(l["hostname"].get<std::string>());
    EXPECT_TRUE(names.count("net-a") && names.count("net-b") && names.count("lodgebr0.gw")) << leases.dump();
    auto state = api("GET", "/1.0/networks/lodgebr0/state")["metadata"];
    EXPECT_EQ(state["bridge"]["upper_devices"].size(), 2u) << state.dump();
    auto inst = api("GET", "/1.0/instances/net-a/state")["metadata"]["network"]["eth0"];
    EXPECT_EQ(inst["host_name"].get<std::string>().rfind("veth", 0), 0u) << inst.dump();
    for (const auto* name : {"net-a", "net-b"}) lxc({"delete", "--force", name});
}

TEST_F(Network, NatReachesUpstreamFromTheOuterAddress) {
    // Upstream answers one request and says where it came from.
    Background server({"/usr/bin/nsenter", "--net=/run/netns/" + up_, "/usr/bin/python3", "-u", "-c",
                       "import socket\n"
                       "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                       "s.bind(('0.0.0.0', 8080)); s.listen(1); print('listening', flush=True)\n"
                       "c, a = s.accept(); c.recv(4096); print('peer', a[0], flush=True)\n"
                       "c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nupstream\\n'); c.close()\n"});
    ASSERT_TRUE(server.wait_for_output("listening", 10)) << server.output();
    launch_busybox("nat-a");
    const auto address = wait_ipv4("nat-a");
    ASSERT_FALSE(address.empty()) << lodged_->log();
    auto r = lxc({"exec", "nat-a", "--", "wget", "-q", "-O", "-", std::string("http://") + upstream_address + ":8080/"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("upstream"), std::string::npos) << r.out;
    ASSERT_TRUE(server.wait_for_output("peer", 10)) << server.output();
    EXPECT_NE(server.output().find(std::string("peer ") + outer_address), std::string::npos) << server.output();
    EXPECT_EQ(server.output().find("peer " + address), std::string::npos);
    // The rules are lodge's own table's.
    auto rules = in(ns_, {"nft", "list", "table", "inet", "lodge"});
    EXPECT_NE(rules.out.find("masquerade"), std::string::npos) << rules.out;
    lxc({"delete", "--force", "nat-a"});
}

TEST_F(Network, ProxyDevicePlugsIntoTheRunningInstance) {
    launch_busybox("proxy-a");
    auto r = lxc({"exec", "proxy-a", "--", "sh", "-c", "mkdir -p /www && echo served-inside >/www/index.html && httpd -p 8080 -h /www"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(fetch("http://127.0.0.1:8081/").status, 0);
    r = lxc({"config", "device", "add", "proxy-a", "web", "proxy", "listen=tcp:127.0.0.1:8081", "connect=tcp:127.0.0.1:8080"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    auto got = fetch("http://127.0.0.1:8081/");
    EXPECT_EQ(got.status, 0) << got.err;
    EXPECT_EQ(got.out, "served-inside\n");
    r = lxc({"config", "device", "remove", "proxy-a", "web"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(wait_until([&] { return fetch("http://127.0.0.1:8081/").status != 0; }, 5));
    // A proxy in a profile-less start: the device comes up with the instance.
    r = lxc({"config", "device", "add", "proxy-a", "web", "proxy", "listen=tcp:127.0.0.1:8082", "connect=tcp:127.0.0.1:8080"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(lxc({"restart", "--force", "proxy-a"}).status, 0);
    lxc({"exec", "proxy-a", "--", "httpd", "-p", "8080", "-h", "/www"});
    got = fetch("http://127.0.0.1:8082/");
    EXPECT_EQ(got.out, "served-inside\n") << got.err << lodged_->log();
    lxc({"delete", "--force", "proxy-a"});
    EXPECT_TRUE(wait_until([&] { return fetch("http://127.0.0.1:8082/").status != 0; }, 5));
}

TEST_F(Network, StaticAddressSurvivesRestartsOfInstanceAndDaemon) {
    const auto address = subnet_prefix("lodgebr0") + "200";
    launch_busybox("static-a", {"--device", "eth0,ipv4.address=" + address});
    EXPECT_EQ(wait_ipv4("static-a"), address) << api("GET", "/1.0/instances/static-a")["metadata"].dump();
    ASSERT_EQ(lxc({"restart", "--force", "static-a"}).status, 0);
    EXPECT_EQ(wait_ipv4("static-a"), address);

    // A proxy into it, which must outlive lodged too.
    auto r = lxc({"exec", "static-a", "--", "sh", "-c", "mkdir -p /www && echo kept >/www/index.html && httpd -p 8080 -h /www"});
    ASSERT_EQ(r.status, 0) << r.err;
    r = lxc({"config", "device", "add", "static-a", "web", "proxy", "listen=tcp:127.0.0.1:8085", "connect=tcp:127.0.0.1:8080"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(fetch("http://127.0.0.1:8085/").out, "kept\n");
    // lxc list shows the address from the instance's state.
    EXPECT_EQ(lxc({"list", "static-a", "--format", "csv", "-c", "4"}).out, address + " (eth0)\n");

    // lodged killed outright: its dnsmasq keeps serving and is adopted, the
    // proxy keeps forwarding.
    auto pid_of_dnsmasq = [&] { return read_file(state_.path() + "/networks/lodgebr0/dnsmasq.pid"); };
    const auto dnsmasq = pid_of_dnsmasq();
    lodged_->stop(SIGKILL);
    EXPECT_EQ(fetch("http://127.0.0.1:8085/").out, "kept\n");
    start_lodged();
    EXPECT_EQ(pid_of_dnsmasq(), dnsmasq);
    EXPECT_EQ(fetch("http://127.0.0.1:8085/").out, "kept\n");
    ASSERT_EQ(lxc({"restart", "--force", "static-a"}).status, 0) << lodged_->log();
    EXPECT_EQ(wait_ipv4("static-a"), address);
    auto leases = lodge({"network", "list-leases", "lodgebr0"});
    EXPECT_EQ(leases.status, 0) << leases.err;
    EXPECT_NE(leases.out.find(address), std::string::npos) << leases.out;
    EXPECT_NE(leases.out.find("STATIC"), std::string::npos) << leases.out;
    lxc({"delete", "--force", "static-a"});
}

TEST_F(Network, BadInputIsRefusedAndChangesNothing) {
    const auto before = api("GET", "/1.0/networks?recursion=1")["metadata"].dump();
    auto bad = [&](const std::string& body, const std::string& needle) {
        auto r = lodged_->request("POST", "/1.0/networks", body);
        EXPECT_EQ(r.status, 400) << body << " " << r.body;
        EXPECT_NE(r.body.find(needle), std::string::npos) << r.body;
    };
    const auto taken = api("GET", "/1.0/networks/lodgebr0")["metadata"]["config"]["ipv4.address"].get<std::string>();
    bad(R"({"name": "overlap0", "config": {"ipv4.address": ")" + subnet_prefix("lodgebr0") + R"(77/24"}})", "overlaps");
    bad(R"({"name": "upl0", "config": {"ipv4.address": "203.0.113.9/24"}})", "overlaps the host's route");
    bad(R"({"name": "cidr0", "config": {"ipv4.address": "10.300.0.1/24"}})", "ipv4.address");
    bad(R"({"name": "cidr1", "config": {"ipv4.address": "10.9.0.0/24"}})", "ipv4.address");
    bad(R"({"name": "key0", "config": {"ipv4.bogus": "1"}})", "ipv4.bogus");
    EXPECT_EQ(api("GET", "/1.0/networks?recursion=1")["metadata"].dump(), before);
    EXPECT_NE(in(ns_, {"ip", "link", "show", "overlap0"}).status, 0);

    launch_busybox("bad-a");
    auto del = lodged_->request("DELETE", "/1.0/networks/lodgebr0");
    EXPECT_EQ(del.status, 400);
    EXPECT_NE(del.body.find("/1.0/instances/bad-a"), std::string::npos) << del.body;
    EXPECT_NE(del.body.find("/1.0/profiles/default"), std::string::npos) << del.body;

    // A proxy whose listen address is taken: refused, the device not kept.
    Background holder({"/usr/bin/nsenter", "--net=/run/netns/" + ns_, "/usr/bin/python3", "-u", "-c",
                       "import socket, time\n"
                       "s = socket.socket(); s.bind(('127.0.0.1', 9090)); s.listen(1); print('held', flush=True)\n"
                       "time.sleep(60)\n"});
    ASSERT_TRUE(holder.wait_for_output("held", 10));
    auto r = lxc({"config", "device", "add", "bad-a", "web", "proxy", "listen=tcp:127.0.0.1:9090", "connect=tcp:127.0.0.1:80"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
    EXPECT_FALSE(api("GET", "/1.0/instances/bad-a")["metadata"]["devices"].contains("web"));
    lxc({"delete", "--force", "bad-a"});
}

TEST_F(Network, LxcClientNetworkVerbs) {
    greet_lxc();
    auto r = lxc({"network", "create", "lxcnet0", "ipv4.address=10.250.7.1/24", "ipv6.address=none"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Network lxcnet0 created\n");
    r = lxc({"network", "list", "--format", "csv"});
    EXPECT_NE(r.out.find("lxcnet0,bridge,YES,10.250.7.1/24"), std::string::npos) << r.out;
    r = lxc({"network", "set", "lxcnet0", "ipv4.nat", "true"});
    EXPECT_EQ(r.status, 0) << r.err;
    r = lxc({"network", "show", "lxcnet0"});
    EXPECT_NE(r.out.find("ipv4.nat: \"true\""), std::string::npos) << r.out;
    EXPECT_EQ(in(ns_, {"ip", "-4", "addr", "show", "lxcnet0"}).out.find("10.250.7.1/24") != std::string::npos, true);

    launch_busybox("lxcnet-a", {"--profile", "hardened", "--profile", "default"});
    r = lxc({"network", "attach", "lxcnet0", "lxcnet-a", "eth1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_TRUE(wait_until([&] { return lxc({"exec", "lxcnet-a", "--", "ip", "link", "show", "eth1"}).status == 0; }, 5));
    r = lxc({"config", "device", "add", "lxcnet-a", "web", "proxy", "listen=tcp:127.0.0.1:8090", "connect=tcp:127.0.0.1:80"});
    EXPECT_EQ(r.status, 0) << r.err;
    r = lxc({"network", "delete", "lxcnet0"});
    EXPECT_NE(r.status, 0);
    r = lxc({"network", "detach", "lxcnet0", "lxcnet-a"});
    EXPECT_EQ(r.status, 0) << r.err;
    lxc({"delete", "--force", "lxcnet-a"});
    const auto net_dir = state_.path() + "/networks/lxcnet0";
    const auto dnsmasq = std::stoi(read_file(net_dir + "/dnsmasq.pid"));
    r = lxc({"network", "delete", "lxcnet0"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "Network lxcnet0 deleted\n");
    EXPECT_NE(in(ns_, {"ip", "link", "show", "lxcnet0"}).status, 0);
    // Its dnsmasq, leases and rules went with it.
    EXPECT_TRUE(wait_until([&] { return ::kill(dnsmasq, 0) != 0; }, 5));
    EXPECT_FALSE(std::filesystem::exists(net_dir));
    auto rules = in(ns_, {"nft", "list", "table", "inet", "lodge"});
    EXPECT_EQ(rules.out.find("lxcnet0"), std::string::npos) << rules.out;
}

TEST_F(Network, LodgeVerbsPrintWhatLxcPrints) {
    greet_lxc();
    auto r = lodge({"network", "create", "cmp0", "ipv4.address=10.251.3.1/24", "ipv6.address=none", "--description", "compared"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(r.out, "Network cmp0 created\n");
    launch_busybox("cmp-a");
    ASSERT_EQ(lodge({"network", "attach", "cmp0", "cmp-a", "eth1", "eth1"}).status, 0);
    for (const auto& args : std::vector<std::vector<std::string>>{{"network", "list"},
                                                                  {"network", "list", "--format", "csv"},
                                                                  {"network", "show", "cmp0"},
                                                                  {"network", "show", "lodgebr0"},
                                                                  {"network", "get", "cmp0", "ipv4.address"},
                                                                  {"network", "list-leases", "lodgebr0", "--format", "csv"}}) {
        auto ours = lodge(args), theirs = lxc(args);
        EXPECT_EQ(ours.status, 0) << ours.err;
        EXPECT_EQ(ours.out, theirs.out) << args[1] << " " << theirs.err;
    }
    // info carries live counters: the same lines, the figures aside.
    auto ours = lodge({"network", "info", "cmp0"}), theirs = lxc({"network", "info", "cmp0"});
    EXPECT_EQ(ours.status, 0) << ours.err;
    auto shape = [](std::string s) {
        for (auto& c : s)
            if (c >= '0' && c <= '9') c = '0';
        return s;
    };
    EXPECT_EQ(shape(ours.out).substr(0, 200), shape(theirs.out).substr(0, 200));
    r = lodge({"network", "set", "cmp0", "ipv4.nat=true"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lodge({"network", "get", "cmp0", "ipv4.nat"}).out, "true\n");
    r = lodge({"network", "unset", "cmp0", "ipv4.nat"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(lodge({"network", "get", "cmp0", "ipv4.nat"}).out, lxc({"network", "get", "cmp0", "ipv4.nat"}).out);
    r = lodge({"network", "rename", "cmp0", "cmp1"});
    EXPECT_NE(r.status, 0); // in use
    ASSERT_EQ(lodge({"network", "detach", "cmp0", "cmp-a"}).status, 0);
    r = lodge({"network", "rename", "cmp0", "cmp1"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(in(ns_, {"ip", "link", "show", "cmp1"}).status, 0);
    r = lodge({"network", "delete", "cmp1"});
    EXPECT_EQ(r.status, 0) << r.err;
    lxc({"delete", "--force", "cmp-a"});
}

TEST_F(Network, DnsmasqThatDiesIsStartedAgain) {
    const auto pidfile = state_.path() + "/networks/lodgebr0/dnsmasq.pid";
    const auto first = std::stoi(read_file(pidfile));
    ASSERT_EQ(::kill(first, SIGKILL), 0);
    int second = 0;
    EXPECT_TRUE(wait_until([&] {
        try {
            second = std::stoi(read_file(pidfile));
        } catch (const std::exception&) {
            return false;
        }
        return second != first && ::kill(second, 0) == 0;
    }, 10)) << lodged_->log();
    // One dnsmasq serves the bridge, not two.
    int serving = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string cmdline;
        try {
            cmdline = read_file(e.path().string() + "/cmdline");
        } catch (const std::exception&) {
            continue;
        }
        if (cmdline.find(state_.path() + "/networks/lodgebr0/") != std::string::npos) ++serving;
    }
    EXPECT_EQ(serving, 1);
}

TEST_F(Network, NicTypesPlugIntoTheRunningInstance) {
    ASSERT_EQ(in(ns_, {"ip", "link", "add", "extbr0", "type", "bridge"}).status, 0);
    ASSERT_EQ(in(ns_, {"ip", "link", "set", "extbr0", "up"}).status, 0);
    launch_busybox("nic-a");
    auto inside = [&](const std::string& iface) {
        return lxc({"exec", "nic-a", "--", "ip", "link", "show", iface}).status == 0;
    };
    auto r = lxc({"config", "device", "add", "nic-a", "ext", "nic", "nictype=bridged", "parent=extbr0", "name=eth1"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_TRUE(inside("eth1"));
    EXPECT_NE(in(ns_, {"ip", "link", "show", "master", "extbr0"}).out.find("veth"), std::string::npos);
    r = lxc({"config", "device", "add", "nic-a", "pp", "nic", "nictype=p2p", "name=eth2", "limits.ingress=10Mbit",
             "limits.egress=5Mbit"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(inside("eth2"));
    const auto p2p_host = api("GET", "/1.0/instances/nic-a/state")["metadata"]["network"]["eth2"]["host_name"];
    ASSERT_TRUE(p2p_host.is_string() && !p2p_host.get<std::string>().empty());
    EXPECT_EQ(in(ns_, {"ip", "link", "show", p2p_host.get<std::string>()}).status, 0);
    // Its limits: an htb class for what goes in; what comes out redirected to
    // an ifb device that shapes it.
    auto classes = in(ns_, {"tc", "class", "show", "dev", p2p_host.get<std::string>()});
    EXPECT_NE(classes.out.find("rate 10Mbit"), std::string::npos) << classes.out << classes.err;
    auto filters = in(ns_, {"tc", "filter", "show", "dev", p2p_host.get<std::string>(), "parent", "ffff:"});
    const auto at = filters.out.find("Redirect to device ");
    ASSERT_NE(at, std::string::npos) << filters.out << filters.err;
    const auto ifb = filters.out.substr(at + 19, filters.out.find(')', at) - at - 19);
    auto shaped = in(ns_, {"tc", "class", "show", "dev", ifb});
    EXPECT_NE(shaped.out.find("rate 5Mbit"), std::string::npos) << ifb << ": " << shaped.out << shaped.err;
    r = lxc({"config", "device", "add", "nic-a", "slow", "nic", "nictype=p2p", "limits.egress=fast"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("limits.egress"), std::string::npos) << r.err;
    r = lxc({"config", "device", "add", "nic-a", "mv", "nic", "nictype=macvlan", "parent=uplink", "name=eth3"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(inside("eth3"));
    // A bad nic is refused and not kept.
    r = lxc({"config", "device", "add", "nic-a", "bad", "nic", "nictype=bridged", "parent=nosuchbr0"});
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(api("GET", "/1.0/instances/nic-a")["metadata"]["devices"].contains("bad"));

    r = lxc({"config", "device", "remove", "nic-a", "ext"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(inside("eth1"));
    EXPECT_EQ(in(ns_, {"ip", "link", "show", "master", "extbr0"}).out, "");
    ASSERT_EQ(lxc({"stop", "--force", "nic-a"}).status, 0);
    EXPECT_TRUE(wait_until([&] { return in(ns_, {"ip", "link", "show", p2p_host.get<std::string>()}).status != 0; }, 5));
    EXPECT_NE(in(ns_, {"ip", "link", "show", ifb}).status, 0); // the ifb went with the nic
    // At the next start all three come up before init runs.
    ASSERT_EQ(lxc({"config", "device", "add", "nic-a", "ext", "nic", "nictype=bridged", "parent=extbr0", "name=eth1"}).status, 0);
    ASSERT_EQ(lxc({"start", "nic-a"}).status, 0) << lodged_->log();
    for (const auto* iface : {"eth0", "eth1", "eth2", "eth3"}) EXPECT_TRUE(inside(iface)) << iface;
    lxc({"delete", "--force", "nic-a"});
}

} // namespace
} // namespace lodge::test
