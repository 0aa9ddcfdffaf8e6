// core.https_address values and the host's addresses behind a wildcard.
#include "daemon/https_address.hpp"

#include "common/error.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstdlib>

namespace lodge::daemon {

namespace {

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}
bool is_wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

std::string join(const std::string& host, unsigned port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

} // namespace

HttpsAddress parse_https_address(const std::string& value) {
    auto bad = [&](const std::string& why) {
        return Error(400, "Invalid core.https_address \"" + value + "\": " + why);
    };
    HttpsAddress out;
    std::string port;
    if (!value.empty() && value.front() == '[') {
        auto close = value.find(']');
        if (close == std::string::npos) throw bad("missing ']'");
        out.host = value.substr(1, close - 1);
        auto rest = value.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') throw bad("expected ':' after ']'");
            port = rest.substr(1);
        }
        if (!is_ipv6(out.host)) throw bad("not an IPv6 address");
    } else {
        auto colon = value.rfind(':');
        if (colon != std::string::npos && value.find(':') != colon) throw bad("put an IPv6 address in brackets");
        out.host = value.substr(0, colon);
        if (colon != std::string::npos) port = value.substr(colon + 1);
        if (!out.host.empty() && !is_ipv4(out.host)) throw bad("the host must be an IP address");
    }
    if (!port.empty()) {
        char* end = nullptr;
        long n = std::strtol(port.c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 65535) throw bad("the port must be 1 to 65535");
        out.port = static_cast<unsigned>(n);
    } else if (value.empty() || value.back() == ':') {
        throw bad("empty port");
    }
    return out;
}

std::vector<std::string> https_listen_addresses(const std::string& value) {
    if (value.empty()) return {};
    auto address = parse_https_address(value);
    if (!is_wildcard(address.host)) return {join(address.host, address.port)};
    const bool v4_only = address.host == "0.0.0.0";
    std::vector<std::string> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK)) continue;
        char buf[INET6_ADDRSTRLEN] = "";
        if (i->ifa_addr->sa_family == AF_INET) {
            ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
        } else if (i->ifa_addr->sa_family == AF_INET6 && !v4_only) {
            auto* a6 = &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a6)) continue; // unusable without a zone
            ::inet_ntop(AF_INET6, a6, buf, sizeof buf);
        } else {
            continue;
        }
        out.push_back(join(buf, address.port));
    }
    ::freeifaddrs(list);
    return out;
}

} // namespace lodge::daemon
