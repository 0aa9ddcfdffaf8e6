// The network fixup on each renderer's files as real guests have them:
// Debian ifupdown, Ubuntu netplan, Fedora NetworkManager keyfiles, Rocky
// ifcfg and systemd-networkd.
#include "tests/unit/vm/guest_tree.hpp"

#include <gtest/gtest.h>

namespace lodge::vm::test {

TEST(VmFixupsNetwork, DebianIfupdownAllowHotplugStaticBecomesAutoEth0Dhcp) {
    GuestTree g;
    g.put("/etc/network/interfaces", R"(# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens3
iface ens3 inet static
	address 192.0.2.10/24
	gateway 192.0.2.1
	dns-nameservers 192.0.2.53
	hwaddress ether 52:54:00:12:34:56
	up ip route add 198.51.100.0/24 dev ens3
iface ens3 inet6 auto
)");
    g.put("/etc/network/interfaces.d/ens4", "allow-hotplug ens4\niface ens4 inet dhcp\n");
    g.put("/etc/network/interfaces.d/skipped.bak", "allow-hotplug ens9\n");
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/network/interfaces"), R"(# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
auto eth0
iface eth0 inet dhcp
# lodge: static address of the VM, eth0 uses DHCP: 	address 192.0.2.10/24
# lodge: static address of the VM, eth0 uses DHCP: 	gateway 192.0.2.1
	dns-nameservers 192.0.2.53
# lodge: the VM's MAC address: 	hwaddress ether 52:54:00:12:34:56
	up ip route add 198.51.100.0/24 dev eth0
iface eth0 inet6 auto
)");
    // The source pattern takes every file; further NICs are left as they are
    // (as auto, ifup -a would fail on devices the container lacks).
    EXPECT_EQ(g.get("/etc/network/interfaces.d/ens4"), "allow-hotplug ens4\niface ens4 inet dhcp\n");
    EXPECT_EQ(g.get("/etc/network/interfaces.d/skipped.bak"), "allow-hotplug ens9\n");
    EXPECT_TRUE(has_record(records, "network", "/etc/network/interfaces", "ens3 becomes eth0")) << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/network/interfaces", "iface eth0 inet static becomes dhcp"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/network/interfaces", "commented out address, gateway, hwaddress"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/network/interfaces",
                           "not changed: ens4 is a further NIC (left as it is, allow-hotplug included); the "
                           "container has only eth0 until more nic devices are added"))
        << dump(records);
}

TEST(VmFixupsNetwork, IfupdownSourceDirectoryAndBridgePortsFollowTheNic) {
    GuestTree g;
    g.put("/etc/network/interfaces", "auto lo\niface lo inet loopback\nsource-directory interfaces.d\n");
    g.put("/etc/network/interfaces.d/br0", "auto br0\niface br0 inet static\n    address 192.0.2.5/24\n"
                                           "    bridge_ports enp1s0\n");
    g.put("/etc/network/interfaces.d/enp1s0", "iface enp1s0 inet manual\n");
    g.put("/etc/network/interfaces.d/ignored.cfg", "iface enp9s0 inet manual\n");
    auto records = g.fix();
    // The bridge keeps its address: the NIC is only its port.
    EXPECT_EQ(g.get("/etc/network/interfaces.d/br0"),
              "auto br0\niface br0 inet static\n    address 192.0.2.5/24\n    bridge_ports eth0\n");
    EXPECT_EQ(g.get("/etc/network/interfaces.d/enp1s0"), "iface eth0 inet manual\n");
    EXPECT_EQ(g.get("/etc/network/interfaces.d/ignored.cfg"), "iface enp9s0 inet manual\n");
    EXPECT_EQ(g.get("/etc/network/interfaces"), "auto lo\niface lo inet loopback\nsource-directory interfaces.d\n");
}

TEST(VmFixupsNetwork, KeepNetworkOnlyTurnsAllowHotplugIntoAuto) {
    GuestTree g;
    g.put("/etc/network/interfaces", "allow-hotplug ens3\niface ens3 inet static\n\taddress 192.0.2.10/24\n"
                                     "allow-hotplug ens4\niface ens4 inet dhcp\n");
    g.put("/etc/netplan/50-cloud-init.yaml", "network:\n  ethernets:\n    enp1s0:\n      dhcp4: false\n");
    auto records = g.fix({.keep_network = true});
    EXPECT_EQ(g.get("/etc/network/interfaces"), "auto ens3\niface ens3 inet static\n\taddress 192.0.2.10/24\n"
                                                "auto ens4\niface ens4 inet dhcp\n");
    EXPECT_EQ(g.get("/etc/netplan/50-cloud-init.yaml"), "network:\n  ethernets:\n    enp1s0:\n      dhcp4: false\n");
    EXPECT_EQ(dump(records), "network | /etc/network/interfaces | allow-hotplug ens3 becomes auto (a container has "
                             "no udev to raise hotplug interfaces)\n"
                             "network | /etc/network/interfaces | allow-hotplug ens4 becomes auto (a container has "
                             "no udev to raise hotplug interfaces)\n");
}

TEST(VmFixupsNetwork, UbuntuNetplanEnp1s0BecomesEth0WithDhcp) {
    GuestTree g;
    g.put("/etc/netplan/50-cloud-init.yaml", R"(# This file is generated from information provided by the datasource.
network:
    ethernets:
        enp1s0:
            addresses:
            - 192.0.2.20/24
            match:
                macaddress: 52:54:00:ab:cd:ef
            mtu: 1450
            nameservers:
                addresses:
                - 192.0.2.53
            routes:
            -   to: default
                via: 192.0.2.1
            set-name: enp1s0
        enp7s0:
            dhcp4: true
    version: 2
)",
          0600);
    g.put("/etc/netplan/60-bridge.yaml", R"(network:
  bridges:
    br1:
      interfaces: [enp7s0]
  vlans:
    vlan10:
      id: 10
      link: enp1s0
)");
    auto records = g.fix();
    EXPECT_EQ(
        g.get("/etc/netplan/50-cloud-init.yaml"),
        R"(# lodge: enp1s0 of the VM is the container's eth0 with DHCP; this file was rewritten without its comments
network:
  ethernets:
    eth0:
      mtu: 1450
      nameservers:
        addresses:
          - 192.0.2.53
      dhcp4: true
    enp7s0:
      dhcp4: true
  version: 2
)");
    EXPECT_EQ(fs::status(g.at("/etc/netplan/50-cloud-init.yaml")).permissions(), static_cast<fs::perms>(0600));
    EXPECT_EQ(
        g.get("/etc/netplan/60-bridge.yaml"),
        R"(# lodge: enp1s0 of the VM is the container's eth0 with DHCP; this file was rewritten without its comments
network:
  bridges:
    br1:
      interfaces: [enp7s0]
  vlans:
    vlan10:
      id: 10
      link: eth0
)");
    EXPECT_TRUE(has_record(records, "network", "/etc/netplan/50-cloud-init.yaml", "enp1s0 becomes eth0"))
        << dump(records);
    EXPECT_TRUE(
        has_record(records, "network", "/etc/netplan/50-cloud-init.yaml", "removed match, set-name, addresses, routes"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/netplan",
                           "not changed: enp7s0 is a further NIC; the container has only eth0 until more nic devices "
                           "are added"))
        << dump(records);
}

TEST(VmFixupsNetwork, FedoraNetworkManagerKeyfileBindsToEth0WithAuto) {
    GuestTree g;
    g.put("/etc/NetworkManager/system-connections/ens3.nmconnection", R"([connection]
id=ens3
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
autoconnect-priority=-999
interface-name=ens3

[ethernet]
mac-address=52:54:00:12:34:56

[ipv4]
address1=192.0.2.30/24,192.0.2.1
dns=192.0.2.53;
method=manual

[ipv6]
addr-gen-mode=eui64
method=auto

[proxy]
)",
          0600);
    g.put("/etc/NetworkManager/system-connections/wifi.nmconnection",
          "[connection]\nid=home\ntype=wifi\ninterface-name=wlp2s0\n", 0600);
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/NetworkManager/system-connections/ens3.nmconnection"), R"([connection]
id=ens3
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
autoconnect-priority=-999
interface-name=eth0

[ethernet]
# lodge: the VM's MAC address: mac-address=52:54:00:12:34:56

[ipv4]
# lodge: static address of the VM, eth0 uses DHCP: address1=192.0.2.30/24,192.0.2.1
dns=192.0.2.53;
method=auto

[ipv6]
addr-gen-mode=eui64
method=auto

[proxy]
)");
    EXPECT_EQ(fs::status(g.at("/etc/NetworkManager/system-connections/ens3.nmconnection")).permissions(),
              static_cast<fs::perms>(0600));
    EXPECT_EQ(g.get("/etc/NetworkManager/system-connections/wifi.nmconnection"),
              "[connection]\nid=home\ntype=wifi\ninterface-name=wlp2s0\n");
    EXPECT_TRUE(has_record(records, "network", "/etc/NetworkManager/system-connections/ens3.nmconnection",
                           "interface-name ens3 becomes eth0"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/NetworkManager/system-connections/ens3.nmconnection",
                           "ipv4 method=manual becomes auto"))
        << dump(records);
}

TEST(VmFixupsNetwork, RockyIfcfgBecomesEth0WithDhcp) {
    GuestTree g;
    const std::string scripts = "/etc/sysconfig/network-scripts/";
    g.put(scripts + "ifcfg-ens3", R"(TYPE=Ethernet
BOOTPROTO=none
NAME=ens3
UUID=2d8a7c3e-3b1f-4d5e-9a77-1c2b3d4e5f60
DEVICE=ens3
ONBOOT=yes
HWADDR=52:54:00:12:34:56
IPADDR=192.0.2.50
PREFIX=24
GATEWAY=192.0.2.1
DNS1=192.0.2.53
)");
    g.put(scripts + "ifcfg-ens4", "DEVICE=ens4\nBOOTPROTO=dhcp\n");
    g.put(scripts + "ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\n");
    auto records = g.fix();
    EXPECT_EQ(g.get(scripts + "ifcfg-ens3"), R"(TYPE=Ethernet
BOOTPROTO=dhcp
NAME=ens3
UUID=2d8a7c3e-3b1f-4d5e-9a77-1c2b3d4e5f60
DEVICE=eth0
ONBOOT=yes
# lodge: the VM's MAC address: HWADDR=52:54:00:12:34:56
# lodge: static address of the VM, eth0 uses DHCP: IPADDR=192.0.2.50
# lodge: static address of the VM, eth0 uses DHCP: PREFIX=24
# lodge: static address of the VM, eth0 uses DHCP: GATEWAY=192.0.2.1
DNS1=192.0.2.53
)");
    EXPECT_EQ(g.get(scripts + "ifcfg-ens4"), "DEVICE=ens4\nBOOTPROTO=dhcp\n");
    EXPECT_EQ(g.get(scripts + "ifcfg-lo"), "DEVICE=lo\nIPADDR=127.0.0.1\n");
    EXPECT_EQ(dump(records),
              "network | /etc/sysconfig/network-scripts/ifcfg-ens3 | ens3 becomes eth0\n"
              "network | /etc/sysconfig/network-scripts/ifcfg-ens3 | BOOTPROTO=none becomes dhcp\n"
              "network | /etc/sysconfig/network-scripts/ifcfg-ens3 | commented out HWADDR, IPADDR, PREFIX, GATEWAY\n"
              "network | /etc/sysconfig/network-scripts/ifcfg-ens4 | not changed: ens4 is a further NIC; the container "
              "has only eth0 until more nic devices are added\n");
}

TEST(VmFixupsNetwork, NetworkdMacMatchBecomesEth0AndLinkFilesGo) {
    GuestTree g;
    g.put("/etc/systemd/network/10-wan.network", R"([Match]
MACAddress=52:54:00:12:34:56

[Network]
Address=192.0.2.40/24
Gateway=192.0.2.1
DNS=192.0.2.53

[Route]
Destination=198.51.100.0/24
Gateway=192.0.2.254
)");
    g.put("/etc/systemd/network/10-wan.link", "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Link]\nName=wan0\n");
    g.put("/etc/systemd/network/20-br0.network", "[Match]\nName=br0\n\n[Network]\nDHCP=yes\n");
    g.put("/etc/systemd/network/30-lan.network", "[Match]\nName=ens9\n\n[Network]\nDHCP=yes\n");
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/systemd/network/10-wan.network"), R"([Match]
Name=eth0
# lodge: matches the VM's NIC: MACAddress=52:54:00:12:34:56

[Network]
DHCP=yes
# lodge: static address of the VM, eth0 uses DHCP: Address=192.0.2.40/24
# lodge: static address of the VM, eth0 uses DHCP: Gateway=192.0.2.1
DNS=192.0.2.53

[Route]
# lodge: static address of the VM, eth0 uses DHCP: Destination=198.51.100.0/24
# lodge: static address of the VM, eth0 uses DHCP: Gateway=192.0.2.254
)");
    EXPECT_FALSE(g.exists("/etc/systemd/network/10-wan.link"));
    EXPECT_EQ(g.get("/etc/systemd/network/20-br0.network"), "[Match]\nName=br0\n\n[Network]\nDHCP=yes\n");
    EXPECT_EQ(g.get("/etc/systemd/network/30-lan.network"), "[Match]\nName=ens9\n\n[Network]\nDHCP=yes\n");
    EXPECT_TRUE(has_record(records, "network", "/etc/systemd/network/10-wan.network",
                           "[Match] the NIC with MAC 52:54:00:12:34:56 becomes Name=eth0"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/systemd/network/10-wan.link",
                           "removed: names a NIC by the VM's MAC address 52:54:00:12:34:56"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "network", "/etc/systemd/network/30-lan.network",
                           "not changed: ens9 is a further NIC; the container has only eth0 until more nic devices "
                           "are added"))
        << dump(records);
}

} // namespace lodge::vm::test
