// A lodged inside a network namespace of the test's own, with an "upstream"
// namespace joined to it by a veth pair standing in for the world outside:
// the default bridge, dnsmasq and lodge's nftables table all live in the
// test namespace, and go with it. Nothing touches the host's interfaces,
// routes or firewall.
#pragma once

#include "tests/integration/lxc_session.hpp"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lodge::test {

class NetworkSession : public LxcSession {
protected:
    explicit NetworkSession(const std::string& prefix)
        : LxcSession(prefix), ns_("lodge-nt" + std::to_string(::getpid())), up_("lodge-up" + std::to_string(::getpid())) {}

    // The test namespace's side of the link to upstream, and upstream's.
    static constexpr const char* outer_address = "203.0.113.1";
    static constexpr const char* upstream_address = "203.0.113.2";

    std::string ns_, up_;

    void SetUp() override {
        if (lxc_binary().empty()) GTEST_SKIP() << "lxd-client is not installed";
        if (::access("/usr/sbin/dnsmasq", X_OK) != 0) GTEST_SKIP() << "dnsmasq is not installed";
        remove_namespaces();
        for (const auto& ns : {ns_, up_}) {
            ASSERT_EQ(run({"ip", "netns", "add", ns}).status, 0);
            // Nothing in the namespace resolves through the host's servers.
            std::filesystem::create_directories("/etc/netns/" + ns);
            std::ofstream("/etc/netns/" + ns + "/resolv.conf") << "# no servers in " << ns << "\n";
            ASSERT_EQ(in(ns, {"ip", "link", "set", "lo", "up"}).status, 0);
        }
        const auto veth = "lodge-v" + std::to_string(::getpid());
        ASSERT_EQ(in(ns_, {"ip", "link", "add", "uplink", "type", "veth", "peer", "name", veth}).status, 0);
        ASSERT_EQ(in(ns_, {"ip", "link", "set", veth, "netns", up_}).status, 0);
        ASSERT_EQ(in(up_, {"ip", "link", "set", veth, "name", "downlink"}).status, 0);
        ASSERT_EQ(in(ns_, {"ip", "addr", "add", std::string(outer_address) + "/24", "dev", "uplink"}).status, 0);
        ASSERT_EQ(in(up_, {"ip", "addr", "add", std::string(upstream_address) + "/24", "dev", "downlink"}).status, 0);
        ASSERT_EQ(in(ns_, {"ip", "link", "set", "uplink", "up"}).status, 0);
        ASSERT_EQ(in(up_, {"ip", "link", "set", "downlink", "up"}).status, 0);
        ASSERT_EQ(in(ns_, {"ip", "route", "add", "default", "via", upstream_address}).status, 0);
        start_lodged();
    }

    void TearDown() override {
        if (lxc_binary().empty()) return;
        LxcSession::TearDown();
        stop_dnsmasq();
        remove_namespaces();
    }

    void start_lodged() {
        lodged_ = std::make_unique<Lodged>(state_.path(), std::vector<std::string>{"--debug"},
                                           std::vector<std::string>{"/usr/bin/nsenter", "--net=/run/netns/" + ns_});
    }

    // A command inside a namespace (only its network namespace is entered).
    Result in(const std::string& ns, std::vector<std::string> argv, int timeout_s = 60) {
        argv.insert(argv.begin(), {"/usr/bin/nsenter", "--net=/run/netns/" + ns});
        return run(argv, "", timeout_s);
    }

    // dnsmasq outlives lodged by design; the namespace goes only once
    // the dnsmasq processes this test's lodged started have ended.
    void stop_dnsmasq() {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(state_.path() + "/networks", ec)) {
            std::ifstream f(e.path() / "dnsmasq.pid");
            pid_t pid = 0;
            if (!(f >> pid) || pid <= 1) continue;
            std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
            std::string argv0;
            std::getline(cmd, argv0, '\0');
            if (argv0.find("dnsmasq") == std::string::npos) continue;
            ::kill(pid, SIGTERM);
            wait_until([&] { return ::kill(pid, 0) != 0; }, 5);
        }
    }

    void remove_namespaces() {
        for (const auto& ns : {ns_, up_}) {
            if (std::filesystem::exists("/run/netns/" + ns)) run({"ip", "netns", "del", ns});
            std::error_code ec;
            std::filesystem::remove_all("/etc/netns/" + ns, ec);
        }
    }

    nlohmann::json api(const std::string& method, const std::string& path, const std::string& body = "") {
        return lodged_->request(method, path, body).json();
    }

    // The instance's first IPv4 address on `iface` ("" while it has none).
    std::string ipv4_of(const std::string& instance, const std::string& iface = "eth0") {
        auto state = api("GET", "/1.0/instances/" + instance + "/state")["metadata"];
        if (!state["network"].is_object() || !state["network"].contains(iface)) return "";
        for (const auto& a : state["network"][iface]["addresses"])
            if (a["family"] == "inet") return a["address"].get<std::string>();
        return "";
    }

    // The subnet's prefix ("10.12.34.") of a network's 10.x.y.1/24 address.
    std::string subnet_prefix(const std::string& network) {
        auto a = api("GET", "/1.0/networks/" + network)["metadata"]["config"]["ipv4.address"].get<std::string>();
        return a.substr(0, a.rfind('.') + 1);
    }
};

} // namespace lodge::test
