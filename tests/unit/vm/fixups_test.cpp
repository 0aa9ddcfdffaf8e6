// The VM fixups on real-looking guest trees: each renderer's network files,
// fstab, units, machine-id, cloud-init, dry runs, and hostile trees whose
// links point at the host.
#include "tests/unit/vm/guest_tree.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

namespace lodge::vm::test {

namespace {

const std::string debian_fstab = R"(# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=4f1c2a9e-9d1c-4e4b-8a0e-5b1f3a7c9d21 /               ext4    errors=remount-ro 0       1
LABEL=boot	/boot	ext4	defaults	0	2
PARTUUID=8d1e6f8a-01 /boot/efi vfat umask=0077 0 1
/dev/mapper/vg0-home /home xfs defaults 0 2
UUID=7e3b1f00-aaaa-bbbb-cccc-000000000001 none swap sw 0 0
/swapfile none swap sw 0 0
nas:/export/media /mnt/media nfs4 defaults,_netdev 0 0
//server/share /mnt/share cifs credentials=/root/.smb 0 0
hostshare /mnt/host 9p trans=virtio 0 0
tmpfs /tmp tmpfs defaults,size=1G 0 0
proc /proc proc defaults 0 0
/srv/data /var/www/data none bind 0 0
/dev/shm /run/shm none bind 0 0

UUID=0b0c /mnt/my\040data ext4 defaults 0 2
)";

} // namespace

TEST(VmFixupsFstab, CommentsOutDisksSwapAndNetworkFilesystemsKeepsTheRest) {
    GuestTree g;
    g.put("/etc/fstab", debian_fstab, 0640);
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/fstab"), R"(# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# lodge: root filesystem: UUID=4f1c2a9e-9d1c-4e4b-8a0e-5b1f3a7c9d21 /               ext4    errors=remount-ro 0       1
# lodge: boot filesystem from the VM disk: LABEL=boot	/boot	ext4	defaults	0	2
# lodge: boot filesystem from the VM disk: PARTUUID=8d1e6f8a-01 /boot/efi vfat umask=0077 0 1
# lodge: filesystem from the VM disk (/dev/mapper/vg0-home): /dev/mapper/vg0-home /home xfs defaults 0 2
# lodge: swap: UUID=7e3b1f00-aaaa-bbbb-cccc-000000000001 none swap sw 0 0
# lodge: swap: /swapfile none swap sw 0 0
# lodge: network filesystem (nfs4): nas:/export/media /mnt/media nfs4 defaults,_netdev 0 0
# lodge: network filesystem (cifs): //server/share /mnt/share cifs credentials=/root/.smb 0 0
# lodge: share from the VM's host (9p): hostshare /mnt/host 9p trans=virtio 0 0
tmpfs /tmp tmpfs defaults,size=1G 0 0
proc /proc proc defaults 0 0
/srv/data /var/www/data none bind 0 0
/dev/shm /run/shm none bind 0 0

# lodge: filesystem from the VM disk (UUID=0b0c): UUID=0b0c /mnt/my\040data ext4 defaults 0 2
)");
    EXPECT_EQ(fs::status(g.at("/etc/fstab")).permissions(), static_cast<fs::perms>(0640));
    EXPECT_TRUE(has_record(records, "fstab", "/etc/fstab",
                           "commented out /mnt/my data (filesystem from the VM disk (UUID=0b0c))"))
        << dump(records);
    EXPECT_TRUE(has_record(records, "fstab", "/etc/fstab",
                           "commented out /swapfile (swap, the host's memory limits apply in a container)"))
        << dump(records);
    int fstab_records = 0;
    for (const auto& r : records) fstab_records += r.fixup == "fstab";
    EXPECT_EQ(fstab_records, 10) << dump(records);
}

TEST(VmFixupsFstab, RewritesKeepTheGuestsOwnerAndMode) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files another owner";
    GuestTree g;
    g.put("/etc/fstab", "LABEL=data /srv ext4 defaults 0 2\n", 0604);
    ASSERT_EQ(::chown(g.at("/etc/fstab").c_str(), 1000, 1001), 0);
    g.fix();
    struct stat st;
    ASSERT_EQ(::stat(g.at("/etc/fstab").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    EXPECT_EQ(st.st_mode & 07777, 0604u);
    EXPECT_EQ(g.get("/etc/fstab"), "# lodge: filesystem from the VM disk (LABEL=data): LABEL=data /srv ext4 defaults 0 2\n");
}

TEST(VmFixupsFstab, CrypttabEntriesAreCommentedOutAndAMissingFstabIsNotCreated) {
    GuestTree g;
    g.put("/etc/crypttab", "# <target name> <source device> <key file> <options>\n"
                           "cryptroot UUID=11111111-2222 none luks,discard\n");
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/crypttab"), "# <target name> <source device> <key file> <options>\n"
                                      "# lodge: encrypted volume on the VM disk: cryptroot UUID=11111111-2222 none "
                                      "luks,discard\n");
    EXPECT_FALSE(g.exists("/etc/fstab"));
    EXPECT_EQ(dump(records), "fstab | /etc/crypttab | commented out encrypted volume cryptroot (on the VM disk)\n");
}

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

TEST(VmFixupsUdev, PersistentNetRulesGoAGeneratorMaskStays) {
    GuestTree g;
    g.put("/etc/udev/rules.d/70-persistent-net.rules",
          "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n");
    g.link("/etc/udev/rules.d/75-persistent-net-generator.rules", "/dev/null");
    g.put("/etc/udev/rules.d/99-local.rules", "# nothing\n");
    auto records = g.fix();
    EXPECT_FALSE(g.exists("/etc/udev/rules.d/70-persistent-net.rules"));
    EXPECT_EQ(g.target("/etc/udev/rules.d/75-persistent-net-generator.rules"), "/dev/null");
    EXPECT_TRUE(g.exists("/etc/udev/rules.d/99-local.rules"));
    EXPECT_EQ(dump(records),
              "udev | /etc/udev/rules.d/70-persistent-net.rules | removed: names NICs by the VM's MAC addresses\n");
}

namespace {

// A usr-merged systemd guest with a few units installed and enabled.
void systemd_guest(const GuestTree& g) {
    g.link("/lib", "usr/lib");
    g.put("/usr/lib/systemd/systemd",
          "\x7f"
          "ELF",
          0755);
    for (const char* unit : {"serial-getty@.service", "getty@.service", "systemd-fsck-root.service",
                             "systemd-fsck@.service", "qemu-guest-agent.service", "ssh.service"})
        g.put(std::string("/usr/lib/systemd/system/") + unit, "[Unit]\n");
    g.link("/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service",
           "/lib/systemd/system/serial-getty@.service");
    g.link("/etc/systemd/system/getty.target.wants/getty@tty1.service", "/lib/systemd/system/getty@.service");
    g.link("/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service",
           "/lib/systemd/system/serial-getty@.service");
    g.link("/etc/systemd/system/multi-user.target.wants/qemu-guest-agent.service",
           "/lib/systemd/system/qemu-guest-agent.service");
    g.link("/etc/systemd/system/multi-user.target.wants/ssh.service", "/lib/systemd/system/ssh.service");
    g.put("/etc/systemd/system/dev-vdb.swap", "[Swap]\nWhat=/dev/vdb\n");
    g.link("/etc/systemd/system/swap.target.wants/dev-vdb.swap", "../dev-vdb.swap");
}

} // namespace

TEST(VmFixupsUnits, SystemdMasksSerialGettysFsckSwapAndGuestAgents) {
    GuestTree g;
    systemd_guest(g);
    auto records = g.fix();
    for (const char* unit : {"serial-getty@ttyS0.service", "serial-getty@hvc0.service", "systemd-fsck-root.service",
                             "systemd-fsck@.service", "qemu-guest-agent.service", "dev-vdb.swap"})
        EXPECT_EQ(g.target(std::string("/etc/systemd/system/") + unit), "/dev/null") << unit;
    EXPECT_FALSE(g.exists("/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"));
    EXPECT_FALSE(g.exists("/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service"));
    EXPECT_FALSE(g.exists("/etc/systemd/system/multi-user.target.wants/qemu-guest-agent.service"));
    EXPECT_FALSE(g.exists("/etc/systemd/system/swap.target.wants/dev-vdb.swap"));
    EXPECT_TRUE(g.exists("/etc/systemd/system/getty.target.wants/getty@tty1.service"));
    EXPECT_TRUE(g.exists("/etc/systemd/system/multi-user.target.wants/ssh.service"));
    // Agents the guest does not have are not in the plan.
    EXPECT_FALSE(g.exists("/etc/systemd/system/open-vm-tools.service"));
    EXPECT_EQ(dump(records),
              "units | /etc/systemd/system/serial-getty@ttyS0.service | masked: serial console getty, a container "
              "has no ttyS0 and boot waits 90 s for it\n"
              "units | /etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service | removed: enables "
              "serial-getty@ttyS0.service, which is masked\n"
              "units | /etc/systemd/system/serial-getty@hvc0.service | masked: serial console getty, a container has "
              "no serial port\n"
              "units | /etc/systemd/system/getty.target.wants/serial-getty@hvc0.service | removed: enables "
              "serial-getty@hvc0.service, which is masked\n"
              "units | /etc/systemd/system/systemd-fsck-root.service | masked: checks the VM's root disk, the "
              "container has none\n"
              "units | /etc/systemd/system/systemd-fsck@.service | masked: checks the VM's disks, the container has "
              "none\n"
              "units | /etc/systemd/system/dev-vdb.swap | masked: swap, the host's memory limits apply in a "
              "container\n"
              "units | /etc/systemd/system/swap.target.wants/dev-vdb.swap | removed: enables dev-vdb.swap, which is "
              "masked\n"
              "units | /etc/systemd/system/qemu-guest-agent.service | masked: QEMU guest agent, needs the VM's virtio "
              "serial port\n"
              "units | /etc/systemd/system/multi-user.target.wants/qemu-guest-agent.service | removed: enables "
              "qemu-guest-agent.service, which is masked\n");
    // A second run finds nothing left to do.
    EXPECT_EQ(dump(g.fix()), "");
}

TEST(VmFixupsUnits, OpenRcRunlevelsLoseSerialGettysSwapFsckHwclockAndAgents) {
    GuestTree g;
    for (const char* svc : {"hwclock", "modules", "swap", "fsck", "localmount", "sysctl"})
        g.link(std::string("/etc/runlevels/boot/") + svc, std::string("/etc/init.d/") + svc);
    for (const char* svc : {"agetty.ttyS0", "agetty.tty1", "qemu-guest-agent", "sshd"})
        g.link(std::string("/etc/runlevels/default/") + svc, std::string("/etc/init.d/") + svc);
    auto records = g.fix();
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(g.at("/etc/runlevels/boot")))
        left.push_back("boot/" + e.path().filename().string());
    for (const auto& e : fs::directory_iterator(g.at("/etc/runlevels/default")))
        left.push_back("default/" + e.path().filename().string());
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left,
              (std::vector<std::string>{"boot/localmount", "boot/sysctl", "default/agetty.tty1", "default/sshd"}));
    EXPECT_TRUE(has_record(records, "units", "/etc/runlevels/default/agetty.ttyS0",
                           "removed from runlevel default: serial console getty, a container has no serial port"))
        << dump(records);
    EXPECT_TRUE(
        has_record(records, "units", "/etc/runlevels/boot/hwclock",
                   "removed from runlevel boot: a container cannot set the hardware clock, the host keeps time"))
        << dump(records);
    EXPECT_EQ(records.size(), 6u) << dump(records);
    // Not a systemd guest: nothing is masked.
    EXPECT_FALSE(g.exists("/etc/systemd/system"));
}

TEST(VmFixupsUnits, InittabSerialGettysAreCommentedOut) {
    GuestTree g;
    g.put("/etc/inittab", R"(# /etc/inittab
::sysinit:/sbin/openrc sysinit
tty1::respawn:/sbin/getty 38400 tty1
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
T1:23:respawn:/sbin/getty -L ttyAMA0 9600 vt100
::ctrlaltdel:/sbin/reboot
)");
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/inittab"), R"(# /etc/inittab
::sysinit:/sbin/openrc sysinit
tty1::respawn:/sbin/getty 38400 tty1
# lodge: serial console getty, a container has no serial port: ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
# lodge: serial console getty, a container has no serial port: T1:23:respawn:/sbin/getty -L ttyAMA0 9600 vt100
::ctrlaltdel:/sbin/reboot
)");
    EXPECT_EQ(dump(records), "units | /etc/inittab | commented out the serial console getty ttyS0\n"
                             "units | /etc/inittab | commented out the serial console getty T1\n");
}

TEST(VmFixupsMachineId, EmptiedAndDbusCopyRemovedUnlessKept) {
    GuestTree g;
    g.put("/etc/machine-id", "4c4c4544004d3510804cb7c04f4e3232\n", 0444);
    g.put("/var/lib/dbus/machine-id", "4c4c4544004d3510804cb7c04f4e3232\n");
    auto kept = g.fix({.keep_machine_id = true});
    EXPECT_EQ(dump(kept), "");
    EXPECT_EQ(g.get("/etc/machine-id"), "4c4c4544004d3510804cb7c04f4e3232\n");

    auto records = g.fix();
    EXPECT_TRUE(g.exists("/etc/machine-id"));
    EXPECT_EQ(g.get("/etc/machine-id"), "");
    EXPECT_EQ(fs::status(g.at("/etc/machine-id")).permissions(), static_cast<fs::perms>(0444));
    EXPECT_FALSE(g.exists("/var/lib/dbus/machine-id"));
    EXPECT_EQ(dump(records),
              "machine-id | /etc/machine-id | emptied: each instance generates its own machine id at first boot\n"
              "machine-id | /var/lib/dbus/machine-id | removed: D-Bus then uses /etc/machine-id\n");
}

TEST(VmFixupsMachineId, SharedSshHostKeysAreNotedUnlessCloudInitRegeneratesThem) {
    GuestTree g;
    g.put("/etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);
    g.put("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@vm\n");
    auto before = g.snapshot();
    EXPECT_EQ(dump(g.fix()), "machine-id | /etc/ssh | not changed: the SSH host keys are the VM's; every instance of "
                             "this image shares them until they are regenerated (rm /etc/ssh/ssh_host_*; "
                             "ssh-keygen -A)\n");
    EXPECT_EQ(g.snapshot(), before);
    g.put("/etc/cloud/cloud.cfg", "ssh_deletekeys: true\n");
    EXPECT_EQ(dump(g.fix()).find("/etc/ssh"), std::string::npos);
}

TEST(VmFixupsMachineId, DbusLinkToEtcStays) {
    GuestTree g;
    g.put("/etc/machine-id", "");
    g.link("/var/lib/dbus/machine-id", "/etc/machine-id");
    EXPECT_EQ(dump(g.fix()), "");
    EXPECT_EQ(g.target("/var/lib/dbus/machine-id"), "/etc/machine-id");
}

TEST(VmFixupsCloudInit, NoCloudDatasourceAndANewInstanceWhenInstalled) {
    GuestTree g;
    g.put("/usr/bin/cloud-init", "#!/usr/bin/python3\n", 0755);
    g.dir("/var/lib/cloud/instances/i-0123456789");
    g.link("/var/lib/cloud/instance", "/var/lib/cloud/instances/i-0123456789");
    auto records = g.fix();
    EXPECT_EQ(g.get("/etc/cloud/cloud.cfg.d/99-lodge-datasource.cfg"),
              "# Written by lodge: this system runs as a container, whose cloud-init data comes as NoCloud.\n"
              "datasource_list: [ NoCloud, None ]\n"
              "# The root filesystem is the container's, not a partition to grow.\n"
              "growpart:\n"
              "  mode: \"off\"\n"
              "resize_rootfs: false\n");
    EXPECT_FALSE(g.exists("/var/lib/cloud/instance"));
    EXPECT_TRUE(g.exists("/var/lib/cloud/instances/i-0123456789"));
    EXPECT_EQ(dump(records), "cloud-init | /etc/cloud/cloud.cfg.d/99-lodge-datasource.cfg | written: datasource_list "
                             "[ NoCloud, None ], growpart and resize_rootfs off\n"
                             "cloud-init | /var/lib/cloud/instance | removed: each container runs cloud-init as a new "
                             "instance\n");
    EXPECT_EQ(dump(g.fix()), "");

    GuestTree without;
    without.dir("/etc");
    EXPECT_EQ(dump(without.fix()), "");
    EXPECT_FALSE(without.exists("/etc/cloud"));
}

TEST(VmFixupsBoot, KernelHooksAreNotedNotChanged) {
    GuestTree g;
    g.put("/boot/vmlinuz-6.1.0-13-amd64", "kernel");
    g.put("/etc/kernel/postinst.d/initramfs-tools", "#!/bin/sh\n", 0755);
    g.put("/etc/kernel/postinst.d/zz-update-grub", "#!/bin/sh\n", 0755);
    g.put("/usr/sbin/update-grub", "#!/bin/sh\n", 0755);
    auto before = g.snapshot();
    auto records = g.fix();
    EXPECT_EQ(g.snapshot(), before);
    EXPECT_EQ(dump(records), "boot | /boot | not changed: kernels and /boot are kept; kernel updates will run "
                             "/etc/kernel/postinst.d (initramfs-tools, zz-update-grub); /usr/sbin/update-grub, which "
                             "only write under /boot or skip themselves in a container\n");
}

namespace {

// Every fixup has something to do in this guest.
void full_guest(const GuestTree& g) {
    systemd_guest(g);
    g.put("/etc/fstab", debian_fstab);
    g.put("/etc/network/interfaces", "allow-hotplug ens3\niface ens3 inet static\n\taddress 192.0.2.10/24\n");
    g.put("/etc/netplan/50-cloud-init.yaml", "network:\n  ethernets:\n    enp1s0:\n      dhcp4: false\n");
    g.put("/etc/systemd/network/10-wan.network", "[Match]\nName=ens3\n[Network]\nAddress=192.0.2.1/24\n");
    g.put("/etc/NetworkManager/system-connections/a.nmconnection",
          "[connection]\ntype=ethernet\ninterface-name=ens3\n[ipv4]\nmethod=manual\naddress1=192.0.2.3/24\n", 0600);
    g.put("/etc/udev/rules.d/70-persistent-net.rules", "# net\n");
    g.put("/etc/inittab", "T0:23:respawn:/sbin/getty -L ttyS0 9600 vt100\n");
    g.link("/etc/runlevels/default/qemu-guest-agent", "/etc/init.d/qemu-guest-agent");
    g.put("/etc/machine-id", "4c4c4544004d3510804cb7c04f4e3232\n");
    g.put("/var/lib/dbus/machine-id", "4c4c4544004d3510804cb7c04f4e3232\n");
    g.put("/etc/cloud/cloud.cfg", "users: [default]\n");
    g.link("/var/lib/cloud/instance", "/var/lib/cloud/instances/i-1");
    g.put("/usr/sbin/update-initramfs", "#!/bin/sh\n", 0755);
}

} // namespace

TEST(VmFixupsDryRun, WritesNothingAndRecordsTheSameAsARealRun) {
    GuestTree dry, real;
    full_guest(dry);
    full_guest(real);
    auto before = dry.snapshot();
    auto planned = dry.fix({.dry_run = true});
    EXPECT_EQ(dry.snapshot(), before);
    auto done = real.fix();
    EXPECT_EQ(dump(planned), dump(done));
    std::set<std::string> kinds;
    for (const auto& r : done) kinds.insert(r.fixup);
    EXPECT_EQ(kinds, (std::set<std::string>{"boot", "cloud-init", "fstab", "machine-id", "network", "udev", "units"}));
    // No temporary file is left beside a rewritten one.
    for (auto it = fs::recursive_directory_iterator(real.path()); it != fs::recursive_directory_iterator(); ++it)
        EXPECT_EQ(it->path().filename().string().find(".lodge-"), std::string::npos) << it->path();
}

} // namespace lodge::vm::test
