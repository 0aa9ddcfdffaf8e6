// systemd-networkd (/etc/systemd/network): the .network file of the first
// physical NIC matches eth0 and asks for DHCP; .link files that rename a
// NIC by the VM's MAC address are removed (the container's MAC differs and
// no udev runs to apply them).
#include "images/vm/fixups/network.hpp"

#include <set>

namespace lodge::vm::detail {

namespace {

const std::string dir = "/etc/systemd/network";

bool has_suffix(const std::string& s, const std::string& suffix) {
    return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What a .network file's [Match] picks: the first physical name, else the
// MAC address; "" when it is not about a physical NIC.
struct Target {
    std::string name, mac;
    bool physical() const { return !name.empty() || !mac.empty(); }
    bool same(const Target& o) const { return (!name.empty() && name == o.name) || (!mac.empty() && mac == o.mac); }
    std::string describe() const { return name.empty() ? "the NIC with MAC " + mac : name; }
};

Target match_target(const std::vector<IniLine>& ini) {
    Target t;
    bool virtual_name = false;
    for (const auto& l : ini) {
        if (l.section != "Match") continue;
        if (l.key == "Name") {
            for (const auto& n : split_fields(l.value)) {
                if (is_physical_nic(n)) {
                    if (t.name.empty()) t.name = n;
                } else {
                    virtual_name = true;
                }
            }
        } else if (l.key == "MACAddress" || l.key == "PermanentMACAddress") {
            if (t.mac.empty()) t.mac = l.value;
        } else if (l.key == "Type" && l.value != "ether") {
            return {};
        }
    }
    if (virtual_name && t.name.empty()) return {};
    return t;
}

bool enslaved(const std::vector<IniLine>& ini) {
    for (const auto& l : ini)
        if (l.section == "Network" && (l.key == "Bridge" || l.key == "Bond" || l.key == "VRF")) return true;
    return false;
}

std::vector<std::string> rewrite(std::vector<std::string>& lines, bool dhcp) {
    auto ini = parse_ini(lines);
    std::vector<std::string> out, changes, dropped;
    bool named = false, has_network = false;
    const std::set<std::string> match_drop = {"MACAddress", "PermanentMACAddress", "Path", "Driver", "OriginalName"};
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto& l = ini[i];
        bool header = l.key.empty() && !trim(lines[i]).empty() && trim(lines[i])[0] == '[';
        if (header && l.section == "Network") has_network = true;
        if (l.section == "Match" && l.key == "Name") {
            if (!named)
                out.push_back("Name=" + container_nic);
            else
                out.push_back(commented("the VM's NIC", lines[i]));
            named = true;
            continue;
        }
        if (l.section == "Match" && match_drop.count(l.key)) {
            out.push_back(commented("matches the VM's NIC", lines[i]));
            dropped.push_back(l.key);
            continue;
        }
        if (dhcp && l.section == "Network" && l.key == "DHCP") {
            out.push_back(l.value == "yes" || l.value == "ipv4" || l.value == "true" ? lines[i] : "DHCP=yes");
            if (out.back() != lines[i]) changes.push_back("DHCP=" + l.value + " becomes DHCP=yes");
            continue;
        }
        if (dhcp && ((l.section == "Network" && (l.key == "Address" || l.key == "Gateway")) ||
                     ((l.section == "Address" || l.section == "Route") && !l.key.empty()))) {
            out.push_back(commented("static address of the VM, " + container_nic + " uses DHCP", lines[i]));
            dropped.push_back(l.section == "Network" ? l.key : "[" + l.section + "] " + l.key);
            continue;
        }
        out.push_back(lines[i]);
        if (header && l.section == "Match" && !named) {
            // A MAC-only match gets the name the container gives its NIC.
            bool has_name = false;
            for (size_t k = i + 1; k < lines.size() && ini[k].section == "Match"; ++k)
                if (ini[k].key == "Name") has_name = true;
            if (!has_name) {
                out.push_back("Name=" + container_nic);
                named = true;
            }
        }
        if (header && l.section == "Network" && dhcp) {
            bool has_dhcp = false;
            for (size_t k = i + 1; k < lines.size() && ini[k].section == "Network"; ++k)
                if (ini[k].key == "DHCP") has_dhcp = true;
            if (!has_dhcp) {
                out.push_back("DHCP=yes");
                changes.push_back("DHCP=yes added");
            }
        }
    }
    if (dhcp && !has_network) {
        out.push_back("");
        out.push_back("[Network]");
        out.push_back("DHCP=yes");
        changes.push_back("DHCP=yes added");
    }
    if (!dropped.empty()) {
        changes.push_back("commented out " + join_words(dropped));
    }
    lines = out;
    return changes;
}

void remove_links(Guest& guest, const std::vector<std::string>& names) {
    for (const auto& n : names) {
        if (!has_suffix(n, ".link")) continue;
        std::string path = dir + "/" + n;
        auto text = guest.read("network", path);
        if (!text) continue;
        for (const auto& l : parse_ini(split_lines(*text)))
            if (l.section == "Match" && (l.key == "MACAddress" || l.key == "PermanentMACAddress")) {
                guest.record("network", path, "removed: names a NIC by the VM's MAC address " + l.value);
                guest.remove(path);
                break;
            }
    }
}

} // namespace

void fix_networkd(Guest& guest) {
    auto names = guest.list(dir);
    Target first;
    std::set<std::string> reported;
    for (const auto& n : names) {
        if (!has_suffix(n, ".network")) continue;
        std::string path = dir + "/" + n;
        auto text = guest.read("network", path);
        if (!text) continue;
        auto lines = split_lines(*text);
        auto ini = parse_ini(lines);
        Target t = match_target(ini);
        if (!t.physical()) continue;
        if (!first.physical()) first = t;
        if (!first.same(t)) {
            if (reported.insert(t.describe()).second)
                guest.record("network", path,
                             "not changed: " + t.describe() + " is a further NIC; the container has only " +
                                 container_nic + " until more nic devices are added");
            continue;
        }
        std::string before = join_lines(lines, ends_with_newline(*text));
        auto changes = rewrite(lines, !enslaved(ini));
        std::string after = join_lines(lines, ends_with_newline(*text) || lines.size() > split_lines(*text).size());
        if (after == before) continue;
        if (t.name != container_nic || !t.mac.empty())
            changes.insert(changes.begin(), "[Match] " + t.describe() + " becomes Name=" + container_nic);
        for (const auto& c : changes) guest.record("network", path, c);
        guest.replace(path, after);
    }
    remove_links(guest, names);
}

} // namespace lodge::vm::detail
