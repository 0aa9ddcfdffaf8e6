// Proxy devices' endpoint forms: what LXD's listen= and connect= accept, and
// the errors for what lodge refuses.
#include "network/proxy.hpp"

#include "common/error.hpp"
#include "network/proxy/endpoint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace lodge::network {
namespace {

// The message of the Error(400) that parsing s throws ("" when none).
std::string refusal(const std::string& s) {
    try {
        parse_endpoint(s);
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400) << s;
        return e.what();
    }
    return "";
}

std::string refusal(const std::string& listen, const std::string& connect) {
    try {
        parse_proxy(listen, connect);
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        return e.what();
    }
    return "";
}

TEST(ProxyEndpoint, TcpIpv4) {
    Endpoint e = parse_endpoint("tcp:127.0.0.1:80");
    EXPECT_EQ(e.protocol, "tcp");
    EXPECT_EQ(e.address, "127.0.0.1");
    EXPECT_EQ(e.port, 80);
    EXPECT_EQ(parse_endpoint("tcp:0.0.0.0:65535").port, 65535);
}

TEST(ProxyEndpoint, UdpIpv6InBrackets) {
    Endpoint e = parse_endpoint("udp:[::1]:53");
    EXPECT_EQ(e.protocol, "udp");
    EXPECT_EQ(e.address, "::1");
    EXPECT_EQ(e.port, 53);
    EXPECT_EQ(parse_endpoint("tcp:[fd42::1]:8080").address, "fd42::1");
}

TEST(ProxyEndpoint, UnixPathsAndAbstractNames) {
    Endpoint e = parse_endpoint("unix:/run/x.sock");
    EXPECT_EQ(e.protocol, "unix");
    EXPECT_EQ(e.address, "/run/x.sock");
    EXPECT_EQ(e.port, 0);
    EXPECT_EQ(parse_endpoint("unix:@lodge-test").address, "@lodge-test");
}

TEST(ProxyEndpoint, WrittenBackAsGiven) {
    for (const char* s : {"tcp:127.0.0.1:80", "udp:[::1]:53", "unix:/run/x.sock", "unix:@abstract"})
        EXPECT_EQ(detail::endpoint_str(parse_endpoint(s)), s);
}

TEST(ProxyEndpoint, RefusesMissingOrUnknownProtocol) {
    EXPECT_NE(refusal("127.0.0.1").find("must be PROTOCOL:ADDRESS"), std::string::npos);
    EXPECT_NE(refusal("sctp:127.0.0.1:80").find("unknown protocol 'sctp'"), std::string::npos);
    EXPECT_NE(refusal("").find("proxy address ''"), std::string::npos);
}

TEST(ProxyEndpoint, RefusesBadPorts) {
    EXPECT_NE(refusal("tcp:127.0.0.1").find("needs a port"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:").find("invalid port ''"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:0").find("invalid port '0'"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:65536").find("invalid port '65536'"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:http").find("invalid port 'http'"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:+80").find("invalid port"), std::string::npos);
    // LXD's ranges and lists: one port per device here, said plainly.
    EXPECT_NE(refusal("tcp:127.0.0.1:80-90").find("names several ports"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:80,443").find("names several ports"), std::string::npos);
}

TEST(ProxyEndpoint, RefusesBadAddresses) {
    EXPECT_NE(refusal("tcp:localhost:80").find("invalid address 'localhost'"), std::string::npos);
    EXPECT_NE(refusal("tcp:256.1.1.1:80").find("invalid address '256.1.1.1'"), std::string::npos);
    EXPECT_NE(refusal("tcp::80").find("no address"), std::string::npos);
    EXPECT_NE(refusal("tcp:::1:80").find("not written in brackets"), std::string::npos);
    EXPECT_NE(refusal("tcp:[::1:80").find("closing ']'"), std::string::npos);
    EXPECT_NE(refusal("tcp:[::1]80").find("needs a port"), std::string::npos);
    EXPECT_NE(refusal("udp:[127.0.0.1]:53").find("invalid IPv6 address '127.0.0.1'"), std::string::npos);
}

TEST(ProxyEndpoint, RefusesBadUnixPaths) {
    EXPECT_NE(refusal("unix:").find("no socket path"), std::string::npos);
    EXPECT_NE(refusal("unix:run/x.sock").find("absolute socket path"), std::string::npos);
    EXPECT_NE(refusal("unix:@").find("empty abstract"), std::string::npos);
    EXPECT_NE(refusal("unix:/" + std::string(120, 'a')).find("too long"), std::string::npos);
    EXPECT_NE(refusal(std::string("unix:/a\0b", 9)).find("NUL"), std::string::npos);
}

TEST(ProxySpec, SameProtocolOrTcpUnixMix) {
    ProxySpec s = parse_proxy("tcp:0.0.0.0:8080", "tcp:127.0.0.1:80");
    EXPECT_EQ(s.listen.port, 8080);
    EXPECT_EQ(s.connect.address, "127.0.0.1");
    EXPECT_EQ(parse_proxy("udp:[::]:53", "udp:127.0.0.1:53").connect.protocol, "udp");
    EXPECT_EQ(parse_proxy("unix:/run/a.sock", "unix:/run/b.sock").listen.address, "/run/a.sock");
    EXPECT_EQ(parse_proxy("tcp:127.0.0.1:2375", "unix:/run/docker.sock").connect.protocol, "unix");
    EXPECT_EQ(parse_proxy("unix:/run/web.sock", "tcp:127.0.0.1:80").connect.port, 80);
}

TEST(ProxySpec, RefusesUdpMixedWithStreams) {
    EXPECT_NE(refusal("udp:127.0.0.1:53", "tcp:127.0.0.1:53").find("different protocols"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:53", "udp:127.0.0.1:53").find("only tcp and unix can be mixed"), std::string::npos);
    EXPECT_NE(refusal("unix:/run/a.sock", "udp:127.0.0.1:53").find("different protocols"), std::string::npos);
}

TEST(ProxySpec, NamesWhichSideIsWrong) {
    EXPECT_NE(refusal("tcp:1.2.3.4", "tcp:127.0.0.1:80").find("proxy listen address 'tcp:1.2.3.4'"), std::string::npos);
    EXPECT_NE(refusal("tcp:127.0.0.1:80", "tcp:1.2.3.4").find("proxy connect address 'tcp:1.2.3.4'"), std::string::npos);
}

TEST(ProxyBinary, EnvironmentOverridesTheBuildsBinary) {
    ::setenv("LODGE_PROXY", "/opt/x/lodge-proxy", 1);
    EXPECT_EQ(proxy_binary(), "/opt/x/lodge-proxy");
    ::unsetenv("LODGE_PROXY");
    std::string beside = proxy_binary();
    EXPECT_EQ(beside.substr(beside.find_last_of('/')), "/lodge-proxy");
}

TEST(ProxyPidfile, NotRunningWhenMissingGarbledOrNotAProxy) {
    char dir[] = "/tmp/lodge-proxy-unit.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    std::string pidfile = std::string(dir) + "/proxy.pid";
    EXPECT_FALSE(running_proxy(pidfile));
    for (std::string text : {"", "x\n", "-4\n", "12a\n"}) {
        FILE* f = std::fopen(pidfile.c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
        EXPECT_FALSE(running_proxy(pidfile)) << text;
    }
    // Our own pid is a live process but no lodge-proxy: never taken for one,
    // and stop_proxy only removes the file.
    FILE* f = std::fopen(pidfile.c_str(), "w");
    std::fprintf(f, "%d\n", ::getpid());
    std::fclose(f);
    EXPECT_FALSE(running_proxy(pidfile));
    stop_proxy(pidfile);
    EXPECT_NE(::access(pidfile.c_str(), F_OK), 0);
    stop_proxy(pidfile); // nothing there: no error
    ::rmdir(dir);
}

} // namespace
} // namespace lodge::network
