// core.https_address: parsing the value an admin sets and the addresses
// clients can reach it on (GET /1.0 `environment.addresses`, trust tokens).
#pragma once

#include <string>
#include <vector>

namespace lodge::daemon {

struct HttpsAddress {
    std::string host; // an IP address; "" means every address
    unsigned port = 8443;
};

// "1.2.3.4:8443", "[::1]:8443", "[::]", ":8443", "1.2.3.4" (port 8443, as
// LXD defaults). Error(400) naming the value for anything else (host names
// included: lodged binds exact addresses).
HttpsAddress parse_https_address(const std::string& value);

// "host:port" strings ("[v6]:port"): the address itself, or for a wildcard
// every global address of the host's interfaces, as LXD lists them.
std::vector<std::string> https_listen_addresses(const std::string& value);

} // namespace lodge::daemon
