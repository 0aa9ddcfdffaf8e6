// Red Hat style ifcfg files (/etc/sysconfig/network-scripts/ifcfg-*, read
// by NetworkManager's ifcfg-rh plugin and the legacy network service on
// RHEL/CentOS 7–8 and their rebuilds): the first physical NIC gets
// DEVICE=eth0 and BOOTPROTO=dhcp. The file keeps its name: both readers go
// by DEVICE=.
#include "images/vm/fixups/network.hpp"

#include <set>

namespace lodge::vm::detail {

namespace {

const std::string dir = "/etc/sysconfig/network-scripts";

std::string unquote(const std::string& v) {
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) return v.substr(1, v.size() - 2);
    return v;
}

struct Ifcfg {
    std::string device, hwaddr, type;
    bool enslaved = false;
};

Ifcfg parse(const std::vector<std::string>& lines, const std::string& file_name) {
    Ifcfg c;
    for (const auto& line : lines) {
        std::string t = trim(line);
        size_t eq = t.find('=');
        if (t.empty() || t[0] == '#' || eq == std::string::npos) continue;
        std::string key = t.substr(0, eq), value = unquote(t.substr(eq + 1));
        if (key == "DEVICE")
            c.device = value;
        else if (key == "HWADDR")
            c.hwaddr = value;
        else if (key == "TYPE")
            c.type = value;
        else if (key == "BRIDGE" || key == "MASTER" || key == "TEAM_MASTER")
            c.enslaved = true;
    }
    if (c.device.empty()) c.device = file_name.substr(6); // "ifcfg-"
    return c;
}

// Keys of the VM's static addressing; numbered forms (IPADDR0, PREFIX1 …)
// included.
bool is_static_key(const std::string& key) {
    for (const char* p : {"IPADDR", "PREFIX", "NETMASK", "GATEWAY", "NETWORK", "BROADCAST"})
        if (starts_with(key, p) && key.find_first_not_of("0123456789", std::string(p).size()) == std::string::npos)
            return true;
    return false;
}

} // namespace

void fix_ifcfg(Guest& guest) {
    std::string nic;
    std::set<std::string> reported;
    for (const auto& n : guest.list(dir)) {
        if (!starts_with(n, "ifcfg-") || n == "ifcfg-lo" || n.find('.') != std::string::npos || n.back() == '~')
            continue;
        std::string path = dir + "/" + n;
        auto text = guest.read("network", path);
        if (!text) continue;
        auto lines = split_lines(*text);
        Ifcfg c = parse(lines, n);
        if ((!c.type.empty() && c.type != "Ethernet") || !is_physical_nic(c.device)) continue;
        if (nic.empty()) nic = c.device;
        if (c.device != nic) {
            if (reported.insert(c.device).second)
                guest.record("network", path,
                             "not changed: " + c.device + " is a further NIC; the container has only " + container_nic +
                                 " until more nic devices are added");
            continue;
        }
        std::vector<std::string> changes, dropped;
        bool has_device = false, has_bootproto = false;
        for (auto& line : lines) {
            std::string t = trim(line);
            size_t eq = t.find('=');
            if (t.empty() || t[0] == '#' || eq == std::string::npos) continue;
            std::string key = t.substr(0, eq), value = unquote(t.substr(eq + 1));
            if (key == "DEVICE") {
                has_device = true;
                if (value != container_nic) line = "DEVICE=" + container_nic;
            } else if (key == "HWADDR") {
                line = commented("the VM's MAC address", line);
                dropped.push_back(key);
            } else if (!c.enslaved && key == "BOOTPROTO") {
                has_bootproto = true;
                if (value != "dhcp") {
                    line = "BOOTPROTO=dhcp";
                    changes.push_back("BOOTPROTO=" + value + " becomes dhcp");
                }
            } else if (!c.enslaved && is_static_key(key)) {
                line = commented("static address of the VM, " + container_nic + " uses DHCP", line);
                dropped.push_back(key);
            }
        }
        if (!has_device) lines.push_back("DEVICE=" + container_nic);
        if (!c.enslaved && !has_bootproto) {
            lines.push_back("BOOTPROTO=dhcp");
            changes.push_back("BOOTPROTO=dhcp added");
        }
        if (c.device != container_nic || !c.hwaddr.empty())
            changes.insert(changes.begin(), c.device + " becomes " + container_nic);
        if (!dropped.empty()) {
            changes.push_back("commented out " + join_words(dropped));
        }
        if (changes.empty()) continue;
        for (const auto& ch : changes) guest.record("network", path, ch);
        guest.replace(path, join_lines(lines, ends_with_newline(*text) || !has_device || !has_bootproto));
    }
}

} // namespace lodge::vm::detail
