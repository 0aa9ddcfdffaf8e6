// NetworkManager keyfiles (/etc/NetworkManager/system-connections): the
// ethernet connections of the first physical NIC (by interface-name or
// mac-address) bind to eth0 and use ipv4 method=auto. Connections bound to
// no interface already apply to eth0; their static addresses become auto
// too, as the container's network is not the VM's.
#include "images/vm/fixups/network.hpp"

#include <set>

namespace lodge::vm::detail {

namespace {

const std::string dir = "/etc/NetworkManager/system-connections";

// NM reads *.nmconnection and, from older versions, files without a dot.
bool is_keyfile(const std::string& n) {
    if (n.empty() || n[0] == '.') return false;
    if (n.size() > 13 && n.compare(n.size() - 13, 13, ".nmconnection") == 0) return true;
    return n.find('.') == std::string::npos && n.back() != '~';
}

bool is_ethernet_section(const std::string& s) { return s == "ethernet" || s == "802-3-ethernet"; }

struct Binding {
    bool ethernet = false, enslaved = false;
    std::string name, mac;
    std::string describe() const {
        return !name.empty() ? name : !mac.empty() ? "the NIC with MAC " + mac : "any ethernet NIC";
    }
};

Binding binding_of(const std::vector<IniLine>& ini) {
    Binding b;
    for (const auto& l : ini) {
        if (l.section == "connection" && l.key == "type")
            b.ethernet = l.value == "ethernet" || l.value == "802-3-ethernet";
        if (l.section == "connection" && l.key == "interface-name") b.name = l.value;
        if (l.section == "connection" && (l.key == "master" || l.key == "controller")) b.enslaved = true;
        if (is_ethernet_section(l.section) && l.key == "mac-address") b.mac = l.value;
    }
    return b;
}

bool is_address_key(const std::string& k) {
    return starts_with(k, "address") || k == "gateway" || starts_with(k, "route");
}

std::vector<std::string> rewrite(std::vector<std::string>& lines, const Binding& b) {
    auto ini = parse_ini(lines);
    std::vector<std::string> out, changes, dropped;
    bool has_name = false;
    for (const auto& l : ini)
        if (l.section == "connection" && l.key == "interface-name") has_name = true;
    std::set<std::string> converted; // ipv4 / ipv6 sections turned to auto
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto& l = ini[i];
        if (l.section == "connection" && l.key == "interface-name") {
            out.push_back("interface-name=" + container_nic);
            if (l.value != container_nic) changes.push_back("interface-name " + l.value + " becomes " + container_nic);
            continue;
        }
        if (is_ethernet_section(l.section) && l.key == "mac-address") {
            out.push_back(commented("the VM's MAC address", lines[i]));
            dropped.push_back("mac-address");
            continue;
        }
        if (!b.enslaved && (l.section == "ipv4" || l.section == "ipv6") && l.key == "method" && l.value == "manual") {
            out.push_back("method=auto");
            changes.push_back(l.section + " method=manual becomes auto");
            converted.insert(l.section);
            continue;
        }
        out.push_back(lines[i]);
        bool header = l.key.empty() && trim(lines[i]) == "[connection]";
        if (header && !has_name && !b.mac.empty()) {
            out.push_back("interface-name=" + container_nic);
            changes.push_back("bound to " + container_nic + " instead of MAC " + b.mac);
        }
    }
    // Static addresses of a section now on auto: a second pass, as method=
    // may come after address1= in a keyfile.
    auto out_ini = parse_ini(out);
    for (size_t i = 0; i < out.size(); ++i)
        if (converted.count(out_ini[i].section) && is_address_key(out_ini[i].key)) {
            out[i] = commented("static address of the VM, " + container_nic + " uses DHCP", out[i]);
            dropped.push_back(out_ini[i].section + " " + out_ini[i].key);
        }
    if (!dropped.empty()) {
        changes.push_back("commented out " + join_words(dropped));
    }
    lines = out;
    return changes;
}

} // namespace

void fix_networkmanager(Guest& guest) {
    Binding first;
    bool have_first = false;
    std::set<std::string> reported;
    for (const auto& n : guest.list(dir)) {
        if (!is_keyfile(n)) continue;
        std::string path = dir + "/" + n;
        auto text = guest.read("network", path);
        if (!text) continue;
        auto lines = split_lines(*text);
        Binding b = binding_of(parse_ini(lines));
        if (!b.ethernet) continue;
        bool bound = !b.name.empty() || !b.mac.empty();
        if (!b.name.empty() && !is_physical_nic(b.name)) continue;
        if (bound && !have_first) {
            first = b;
            have_first = true;
        }
        bool same =
            !bound || (!first.name.empty() && first.name == b.name) || (!first.mac.empty() && first.mac == b.mac);
        if (!same) {
            if (reported.insert(b.describe()).second)
                guest.record("network", path,
                             "not changed: " + b.describe() + " is a further NIC; the container has only " +
                                 container_nic + " until more nic devices are added");
            continue;
        }
        auto changes = rewrite(lines, b);
        if (changes.empty()) continue;
        for (const auto& c : changes) guest.record("network", path, c);
        guest.replace(path, join_lines(lines, ends_with_newline(*text)));
    }
}

} // namespace lodge::vm::detail
