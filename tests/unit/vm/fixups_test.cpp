// The VM fixups on real-looking guest trees: fstab, udev, units,
// machine-id, cloud-init, /boot and dry runs (network files in
// fixups_network_test.cpp, hostile trees in fixups_hostile_test.cpp).
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
