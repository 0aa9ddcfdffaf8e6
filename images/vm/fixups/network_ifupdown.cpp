// ifupdown (/etc/network/interfaces and the files it sources): the first
// physical NIC becomes eth0, a static address becomes DHCP, and its
// allow-hotplug becomes auto (with keep_network every allow-hotplug does).
#include "images/vm/fixups/network.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace lodge::vm::detail {

namespace {

constexpr int max_depth = 8;
constexpr size_t max_files = 256;

// Options that pin the VM's static address or MAC; with DHCP they go.
const std::set<std::string> static_options = {"address", "netmask",     "broadcast", "network",
                                              "gateway", "pointopoint", "hwaddress", "scope"};

// Member lists: the NIC named there is a port of a bridge or bond, whose
// own stanza holds the address.
const std::set<std::string> member_options = {"bridge_ports", "bridge-ports", "bond-slaves",
                                              "bond_slaves",  "bond-master",  "bond_master"};

std::string dir_of(const std::string& path) { return split_path(path).first; }

std::string absolute(const std::string& base_dir, const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    return (base_dir == "/" ? "" : base_dir) + "/" + p;
}

// run-parts names, as ifupdown's source-directory takes them.
bool run_parts_name(const std::string& n) {
    if (n.empty()) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    return true;
}

struct Files {
    std::vector<std::string> order;
    std::set<std::string> seen;
};

void collect(Guest& guest, const std::string& path, int depth, Files& files) {
    if (depth > max_depth || files.order.size() >= max_files || !files.seen.insert(path).second) return;
    auto text = guest.read("network", path);
    if (!text) return;
    files.order.push_back(path);
    for (const auto& line : split_lines(*text)) {
        auto f = split_fields(line);
        if (f.size() < 2) continue;
        std::string base = dir_of(path);
        if (f[0] == "source") {
            std::string pattern = absolute(base, f[1]);
            auto [dir, name] = split_path(pattern);
            if (dir.find_first_of("*?[") != std::string::npos) {
                guest.record("network", path, "not changed: source " + f[1] + " has a pattern in a directory name");
                continue;
            }
            if (name.find_first_of("*?[") == std::string::npos) {
                collect(guest, pattern, depth + 1, files);
                continue;
            }
            for (const auto& n : guest.list(dir))
                if (::fnmatch(name.c_str(), n.c_str(), FNM_PERIOD) == 0)
                    collect(guest, absolute(dir, n), depth + 1, files);
        } else if (f[0] == "source-directory") {
            std::string dir = absolute(base, f[1]);
            for (const auto& n : guest.list(dir))
                if (run_parts_name(n)) collect(guest, absolute(dir, n), depth + 1, files);
        }
    }
}

bool is_stanza_start(const std::string& word) {
    return word == "iface" || word == "auto" || word == "mapping" || word == "source" || word == "source-directory" ||
           starts_with(word, "allow-") || starts_with(word, "no-");
}

struct Nics {
    std::string first;
    std::vector<std::string> others;
    bool enslaved = false; // the first NIC is a bridge or bond port
};

Nics find_nics(const std::map<std::string, std::vector<std::string>>& texts, const std::vector<std::string>& order) {
    Nics nics;
    auto note = [&](const std::string& name) {
        if (!is_physical_nic(name)) return;
        if (nics.first.empty())
            nics.first = name;
        else if (name != nics.first && std::find(nics.others.begin(), nics.others.end(), name) == nics.others.end())
            nics.others.push_back(name);
    };
    for (const auto& path : order)
        for (const auto& line : texts.at(path)) {
            auto f = split_fields(line);
            if (f.empty() || f[0][0] == '#') continue;
            if (f[0] == "iface" && f.size() > 1)
                note(f[1]);
            else if (f[0] == "auto" || starts_with(f[0], "allow-"))
                for (size_t i = 1; i < f.size(); ++i) note(f[i]);
        }
    if (nics.first.empty()) return nics;
    std::string stanza;
    for (const auto& path : order)
        for (const auto& line : texts.at(path)) {
            auto f = split_fields(line);
            if (f.empty() || f[0][0] == '#') continue;
            if (is_stanza_start(f[0])) {
                stanza = f[0] == "iface" && f.size() > 1 ? f[1] : "";
                continue;
            }
            if (!member_options.count(f[0])) continue;
            if (stanza == nics.first && starts_with(f[0], "bond")) nics.enslaved = true;
            for (size_t i = 1; i < f.size(); ++i)
                if (f[i] == nics.first && stanza != nics.first) nics.enslaved = true;
        }
    return nics;
}

// Rewrites one file's lines; returns the changes in words.
std::vector<std::string> rewrite(std::vector<std::string>& lines, const Nics& nics, bool keep_network) {
    std::vector<std::string> changes;
    const std::string nic = keep_network ? std::string() : nics.first;
    bool in_nic_stanza = false, converted = false, renamed = false;
    std::vector<std::string> commented_options;
    for (auto& line : lines) {
        auto f = split_fields(line);
        if (f.empty() || f[0][0] == '#') continue;
        if (is_stanza_start(f[0])) in_nic_stanza = false;
        if (in_nic_stanza && ((converted && static_options.count(f[0])) || f[0] == "hwaddress")) {
            line = commented(f[0] == "hwaddress" ? "the VM's MAC address"
                                                 : "static address of the VM, " + container_nic + " uses DHCP",
                             line);
            commented_options.push_back(f[0]);
            continue;
        }
        bool changed = false;
        // A further NIC keeps allow-hotplug: as auto, ifup -a would fail on
        // a device the container does not have and fail networking.service.
        bool hotplug_to_auto = f[0] == "allow-hotplug";
        for (size_t i = 1; hotplug_to_auto && !keep_network && i < f.size(); ++i)
            if (is_physical_nic(f[i]) && f[i] != nics.first) hotplug_to_auto = false;
        if (hotplug_to_auto) {
            f[0] = "auto";
            changed = true;
            changes.push_back("allow-hotplug " + (f.size() > 1 ? f[1] : "") +
                              " becomes auto (a container has no udev to raise hotplug interfaces)");
        }
        // Interface names in stanza headers, member lists and up/down
        // commands ("dev ens3") all follow the NIC.
        for (size_t i = 1; !nic.empty() && i < f.size(); ++i) {
            std::string r = rename_nic_token(f[i], nic);
            if (r != f[i]) f[i] = r, changed = renamed = true;
        }
        if (!nic.empty() && f[0] == "iface" && f.size() >= 4 && f[1] == container_nic) {
            in_nic_stanza = true;
            converted = f[3] == "static" && !nics.enslaved;
            if (converted) {
                std::string method = f[2] == "inet6" ? "auto" : "dhcp";
                changes.push_back("iface " + container_nic + " " + f[2] + " static becomes " + method);
                f[3] = method;
                changed = true;
            }
        }
        if (changed) {
            std::string joined = line.substr(0, line.find_first_not_of(" \t"));
            for (size_t i = 0; i < f.size(); ++i) joined += (i ? " " : "") + f[i];
            line = joined;
        }
    }
    if (renamed) changes.insert(changes.begin(), nic + " becomes " + container_nic);
    if (!commented_options.empty()) {
        changes.push_back("commented out " + join_words(commented_options));
    }
    return changes;
}

} // namespace

void fix_ifupdown(Guest& guest) {
    Files files;
    collect(guest, "/etc/network/interfaces", 0, files);
    if (files.order.empty()) return;
    std::map<std::string, std::string> originals;
    std::map<std::string, std::vector<std::string>> texts;
    for (const auto& path : files.order) {
        auto text = guest.read("network", path);
        if (!text) continue;
        originals[path] = *text;
        texts[path] = split_lines(*text);
    }
    std::vector<std::string> order;
    for (const auto& p : files.order)
        if (texts.count(p)) order.push_back(p);
    Nics nics = find_nics(texts, order);
    bool keep = guest.options().keep_network;
    for (const auto& path : order) {
        auto lines = texts[path];
        auto changes = rewrite(lines, nics, keep);
        if (changes.empty()) continue;
        for (const auto& c : changes) guest.record("network", path, c);
        guest.replace(path, join_lines(lines, ends_with_newline(originals[path])));
    }
    if (!keep)
        for (const auto& other : nics.others)
            guest.record("network", order.front(),
                         "not changed: " + other +
                             " is a further NIC (left as it is, allow-hotplug included); the "
                             "container has only " +
                             container_nic + " until more nic devices are added");
}

} // namespace lodge::vm::detail
