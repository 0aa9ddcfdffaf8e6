// What the network fixups share: which interface names are the VM's
// physical NICs, and the one name a container's NIC has.
#pragma once

#include "images/vm/fixups/steps.hpp"

#include <string>

namespace lodge::vm::detail {

// The container's first NIC, as LXD names it.
inline const std::string container_nic = "eth0";

// ens3, enp1s0, eno1, enx…, eth0, em1, p1p1 and globs of them ("en*");
// not lo, bridges, bonds, vlans (eth0.10), aliases (eth0:1), tunnels.
bool is_physical_nic(const std::string& name);

// Replaces name, and vlan or alias names built on it (ens3.10, ens3:1),
// by container_nic in one whitespace-separated token.
std::string rename_nic_token(const std::string& token, const std::string& nic);

// One per renderer; each picks the first physical NIC its own files
// configure, rewrites it to eth0 with DHCP and reports any other.
void fix_ifupdown(Guest& guest);
void fix_networkd(Guest& guest);
void fix_netplan(Guest& guest);
void fix_networkmanager(Guest& guest);
void fix_ifcfg(Guest& guest);

// A key=value line of an INI-style file (systemd units, NM keyfiles).
struct IniLine {
    std::string section; // without brackets, "" before the first
    std::string key;     // "" for comments, blanks and headers
    std::string value;
};
std::vector<IniLine> parse_ini(const std::vector<std::string>& lines);

} // namespace lodge::vm::detail
