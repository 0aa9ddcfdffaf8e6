// The network fixup: a container gets one NIC, eth0, from its nic device,
// while the VM's configuration names the NIC the VM had (ens3, enp1s0 …),
// often with the VM's MAC and static address. Each renderer's files are
// translated to eth0 with DHCP. With keep_network only ifupdown's
// allow-hotplug becomes auto: the admin keeps names and addresses (and
// names the container's NIC to match), but allow-hotplug waits for a udev
// event no container ever sees, so keeping it would mean no network at all.
#include "images/vm/fixups/network.hpp"

#include <cctype>

namespace lodge::vm::detail {

bool is_physical_nic(const std::string& name) {
    if (name.empty() || name.find_first_of(".:") != std::string::npos) return false;
    if (starts_with(name, "en") || starts_with(name, "eth")) return true;
    // biosdevname: em1 (embedded), p1p1 (PCI slot/port).
    if (starts_with(name, "em") && name.size() > 2 && std::isdigit(static_cast<unsigned char>(name[2]))) return true;
    return name.size() > 3 && name[0] == 'p' && std::isdigit(static_cast<unsigned char>(name[1])) &&
           name.find('p', 1) != std::string::npos;
}

std::string rename_nic_token(const std::string& token, const std::string& nic) {
    if (token == nic) return container_nic;
    if (token.size() > nic.size() && starts_with(token, nic) && (token[nic.size()] == '.' || token[nic.size()] == ':'))
        return container_nic + token.substr(nic.size());
    return token;
}

std::vector<IniLine> parse_ini(const std::vector<std::string>& lines) {
    std::vector<IniLine> out;
    std::string section;
    for (const auto& raw : lines) {
        std::string t = trim(raw);
        IniLine l;
        if (!t.empty() && t[0] == '[' && t.back() == ']') section = t.substr(1, t.size() - 2);
        l.section = section;
        if (!t.empty() && t[0] != '#' && t[0] != ';' && t[0] != '[') {
            size_t eq = t.find('=');
            if (eq != std::string::npos) {
                l.key = trim(t.substr(0, eq));
                l.value = trim(t.substr(eq + 1));
            }
        }
        out.push_back(l);
    }
    return out;
}

void fix_network(Guest& guest) {
    fix_ifupdown(guest);
    if (guest.options().keep_network) return;
    fix_networkd(guest);
    fix_netplan(guest);
    fix_networkmanager(guest);
    fix_ifcfg(guest);
}

} // namespace lodge::vm::detail
