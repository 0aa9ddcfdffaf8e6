#include "network/traffic.hpp"

#include "common/command.hpp"
#include "common/error.hpp"
#include "network/netlink.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

namespace lodge::network {

namespace {

std::string tc_binary() {
    for (const char* p : {"/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc"})
        if (::access(p, X_OK) == 0) return p;
    throw Error(500, "tc is not installed (Debian package iproute2)");
}

// Runs tc with args (no shell); Error(500) with what it printed on failure.
void tc(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"tc"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_command(tc_binary(), argv);
    if (result.status == 0) return;
    std::string command = "tc";
    for (const auto& a : args) command += " " + a;
    while (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
    throw Error(500, command + ": " + result.output);
}

// The ifb device of a host-side interface: a name of its own (FNV-1a of the
// interface's name), whatever that name is.
std::string ifb_of(const std::string& host_name) {
    uint64_t h = 14695981039346656037ULL;
    for (unsigned char c : host_name) h = (h ^ c) * 1099511628211ULL;
    char name[16];
    std::snprintf(name, sizeof name, "lifb%010llx", static_cast<unsigned long long>(h & 0xffffffffffULL));
    return name;
}

void shape(const std::string& dev, const std::string& rate) {
    tc({"qdisc", "replace", "dev", dev, "root", "handle", "1:0", "htb", "default", "10"});
    tc({"class", "replace", "dev", dev, "parent", "1:0", "classid", "1:10", "htb", "rate", rate});
}

} // namespace

void limit_traffic(const std::string& host_name, const std::string& ingress, const std::string& egress) {
    if (!ingress.empty()) shape(host_name, ingress);
    if (egress.empty()) return;
    const auto ifb = ifb_of(host_name);
    Netlink nl;
    if (!nl.link(ifb)) nl.create_ifb(ifb);
    try {
        nl.set_up(ifb, true);
        shape(ifb, egress);
        tc({"qdisc", "replace", "dev", host_name, "handle", "ffff:0", "ingress"});
        tc({"filter", "replace", "dev", host_name, "parent", "ffff:0", "protocol", "all", "u32", "match", "u32", "0",
            "0", "action", "mirred", "egress", "redirect", "dev", ifb});
    } catch (...) {
        nl.delete_link(ifb);
        throw;
    }
}

void remove_traffic_limits(const std::string& host_name) { Netlink().delete_link(ifb_of(host_name)); }

} // namespace lodge::network
