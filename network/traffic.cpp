#include "network/traffic.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "network/netlink.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

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
    const auto binary = tc_binary();
    std::vector<char*> argv{const_cast<char*>("tc")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int out[2];
    check(::pipe2(out, O_CLOEXEC), "pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::dup2(out_w.get(), 1);
        ::dup2(out_w.get(), 2);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    out_w.reset();
    std::string output = read_to_eof(out_r.get());
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string command = "tc";
        for (const auto& a : args) command += " " + a;
        while (!output.empty() && output.back() == '\n') output.pop_back();
        throw Error(500, command + ": " + output);
    }
}

// The ifb device of a host-side interface: its own name, whatever that is.
std::string ifb_of(const std::string& host_name) { return "lifb" + sha256_hex("ifb:" + host_name).substr(0, 10); }

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
