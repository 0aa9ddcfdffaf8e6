// Bridge chains in lodge's nftables table (see nft.hpp), written as nft
// command text and run through libnftables, one transaction per change.
#include "network/nft.hpp"

#include <nftables/libnftables.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.hpp"

namespace lodge::network {

namespace {

constexpr const char* table = "inet lodge";
const std::vector<std::string> chain_prefixes = {"pstrt.", "fwd.", "in.", "out."};
// remove_bridge_rules decides from a listing whether the table goes too;
// within lodged no other change may slip in between.
std::mutex table_mutex;

struct CtxFree {
    void operator()(nft_ctx* c) const noexcept { nft_ctx_free(c); }
};

// Runs nft commands (one buffer = one transaction) and returns nft's output.
std::string run_nft(const std::string& commands, bool json = false) {
    // A context per call: its netlink socket belongs to the calling thread's
    // netns, and contexts are not shared between lodged's threads.
    std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) throw Error(500, "nftables: cannot create a context");
    if (json) nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
    if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
        throw Error(500, "nftables: cannot buffer output");
    int rc = nft_run_cmd_from_buffer(ctx.get(), commands.c_str());
    if (rc != 0) {
        std::string err = nft_ctx_get_error_buffer(ctx.get());
        while (!err.empty() && err.back() == '\n') err.pop_back();
        throw Error(500, "nftables: " + (err.empty() ? "command failed" : err));
    }
    const char* out = nft_ctx_get_output_buffer(ctx.get());
    return out ? out : "";
}

bool table_exists() {
    auto listing = nlohmann::json::parse(run_nft("list tables inet", true));
    for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
        if (item.contains("table") && item["table"].value("name", "") == "lodge") return true;
    }
    return false;
}

std::vector<std::string> chains_in_table() {
    auto listing = nlohmann::json::parse(run_nft(std::string("list table ") + table, true));
    std::vector<std::string> out;
    for (const auto& item : listing.value("nftables", nlohmann::json::array())) {
        if (item.contains("chain")) out.push_back(item["chain"].value("name", ""));
    }
    return out;
}

// Bridge names become part of nft identifiers and quoted strings; keeping
// them to nft's identifier characters makes the command text unambiguous.
void check_bridge_name(const std::string& bridge) {
    bool ok = valid_interface_name(bridge);
    for (char c : bridge) {
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || c == '.';
        ok = ok && allowed;
    }
    if (!ok) throw Error(400, "invalid bridge name \"" + bridge + "\" for firewall rules");
}

std::string chain_rules(const std::string& chain, const std::string& head, const std::vector<std::string>& rules) {
    std::string s = "add chain " + std::string(table) + " " + chain + " { " + head + "; policy accept; }\n";
    for (const auto& r : rules) s += "add rule " + std::string(table) + " " + chain + " " + r + "\n";
    return s;
}

std::string new_chains(const BridgeRules& r) {
    const std::string& b = r.bridge;
    const std::string in = "iifname \"" + b + "\" ";
    const std::string out = "oifname \"" + b + "\" ";
    std::string s;

    std::vector<std::string> nat;
    if (r.ipv4 && r.nat4) {
        auto net = r.ipv4->network_str();
        nat.push_back("ip saddr " + net + " ip daddr != " + net + " masquerade");
    }
    if (r.ipv6 && r.nat6) {
        auto net = r.ipv6->network_str();
        nat.push_back("ip6 saddr " + net + " ip6 daddr != " + net + " masquerade");
    }
    if (!nat.empty()) s += chain_rules("pstrt." + b, "type nat hook postrouting priority srcnat", nat);

    std::vector<std::string> fwd, input, output;
    input = {in + "tcp dport 53 accept", in + "udp dport 53 accept"};
    output = {out + "tcp sport 53 accept", out + "udp sport 53 accept"};
    if (r.ipv4) {
        fwd.push_back("ip version 4 " + out + "accept");
        fwd.push_back("ip version 4 " + in + "accept");
        const std::string icmp = "icmp type { destination-unreachable, "
                                 "time-exceeded, parameter-problem } accept";
        input.push_back(in + icmp);
        input.push_back(in + "udp dport 67 accept");
        output.push_back(out + icmp);
        output.push_back(out + "udp sport 67 accept");
    }
    if (r.ipv6) {
        fwd.push_back("ip6 version 6 " + out + "accept");
        fwd.push_back("ip6 version 6 " + in + "accept");
        // Errors plus neighbour discovery and router solicitation/advertisement, as
        // LXD allows.
        input.push_back(in + "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
                             "parameter-problem, nd-router-solicit, nd-neighbor-solicit, "
                             "nd-neighbor-advert, "
                             "mld2-listener-report } accept");
        input.push_back(in + "udp dport 547 accept");
        output.push_back(out + "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, "
                               "parameter-problem, echo-request, nd-router-advert, "
                               "nd-neighbor-solicit, "
                               "nd-neighbor-advert, mld2-listener-report } accept");
        output.push_back(out + "udp sport 547 accept");
    }
    if (!fwd.empty()) s += chain_rules("fwd." + b, "type filter hook forward priority filter", fwd);
    s += chain_rules("in." + b, "type filter hook input priority filter", input);
    s += chain_rules("out." + b, "type filter hook output priority filter", output);
    return s;
}

} // namespace

void apply_bridge_rules(const BridgeRules& rules) {
    check_bridge_name(rules.bridge);
    std::string s = std::string("add table ") + table + "\n";
    // nft 1.0.6 has no `destroy`: adding a chain that exists is a no-op, so
    // add + flush + delete removes the old chain whether or not it was there.
    for (const auto& prefix : chain_prefixes) {
        std::string chain = std::string(table) + " " + prefix + rules.bridge;
        s += "add chain " + chain + "\nflush chain " + chain + "\ndelete chain " + chain + "\n";
    }
    s += new_chains(rules);
    std::lock_guard lock(table_mutex);
    run_nft(s);
}

void remove_bridge_rules(const std::string& bridge) {
    check_bridge_name(bridge);
    std::lock_guard lock(table_mutex);
    if (!table_exists()) return;
    auto chains = chains_in_table();
    std::string s;
    size_t removed = 0;
    for (const auto& prefix : chain_prefixes) {
        std::string name = prefix + bridge;
        if (std::find(chains.begin(), chains.end(), name) == chains.end()) continue;
        std::string chain = std::string(table) + " " + name;
        s += "flush chain " + chain + "\ndelete chain " + chain + "\n";
        ++removed;
    }
    if (removed == chains.size()) s += std::string("delete table ") + table + "\n";
    if (!s.empty()) run_nft(s);
}

std::string lodge_ruleset() {
    if (!table_exists()) return "";
    return run_nft(std::string("list table ") + table);
}

} // namespace lodge::network
