// The fixups on hostile guest trees: links that point at the host, by
// absolute path or by ../ chains, FIFOs and huge files. Canaries in a host
// directory must never be opened or changed.
#include "tests/unit/vm/guest_tree.hpp"

#include <gtest/gtest.h>

#include <sys/inotify.h>
#include <sys/stat.h>

namespace lodge::vm::test {

namespace {

const std::string fstab_bait = "UUID=1234 / ext4 defaults 0 1\n/dev/vdb none swap sw 0 0\n";
const std::string netplan_bait = "network:\n  ethernets:\n    ens3:\n      addresses: [192.0.2.9/24]\n";
const std::string interfaces_bait = "allow-hotplug ens3\niface ens3 inet static\n\taddress 192.0.2.9/24\n";

// Host files a broken fixup would read or rewrite, watched for any open.
class Canaries {
public:
    Canaries() : inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        put("fstab", fstab_bait);
        put("hostname", "host\n");
        put("machine-id", "0123456789abcdef0123456789abcdef\n");
        put("interfaces", interfaces_bait);
        fs::create_directories(dir_.path() + "/netplan");
        put("netplan/50-cloud-init.yaml", netplan_bait);
        put("cloud.cfg", "users: [default]\n");
        put("70-persistent-net.rules", "# net\n");
        for (const auto& [name, _] : files_) watch(path(name));
        watch(path("netplan"));
    }
    std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
    std::string dir() const { return dir_.path(); }

    // Asserts nothing opened a canary and none changed.
    void check() const {
        char buf[4096];
        ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
        EXPECT_EQ(n, -1) << "a canary on the host was opened";
        for (const auto& [name, expected] : files_) {
            struct stat st;
            ASSERT_EQ(::stat(path(name).c_str(), &st), 0);
            EXPECT_EQ(st.st_mtim.tv_sec, expected.mtime.tv_sec) << name;
            EXPECT_EQ(st.st_mtim.tv_nsec, expected.mtime.tv_nsec) << name;
            std::ifstream in(path(name));
            std::stringstream s;
            s << in.rdbuf();
            EXPECT_EQ(s.str(), expected.content) << name;
        }
    }

private:
    struct Expected {
        std::string content;
        struct timespec mtime;
    };
    void put(const std::string& name, const std::string& content) {
        std::ofstream(path(name)) << content;
        struct stat st;
        ::stat(path(name).c_str(), &st);
        files_[name] = {content, st.st_mtim};
    }
    void watch(const std::string& p) {
        ASSERT_GE(::inotify_add_watch(inotify_.get(), p.c_str(), IN_OPEN | IN_MODIFY), 0);
    }

    TempDir dir_{"lodge-vm-canary"};
    std::map<std::string, Expected> files_;
    UniqueFd inotify_;
};

// "../" enough times to climb from the guest's /etc/x to the host's /.
std::string climb(const std::string& from_guest_dir) {
    std::string up;
    for (int i = 0; i < 32; ++i) up += "../";
    (void)from_guest_dir;
    return up;
}

} // namespace

TEST(VmFixupsHostile, AbsoluteLinksToTheHostResolveInsideTheRoot) {
    Canaries canaries;
    GuestTree g;
    g.link("/etc/fstab", canaries.path("fstab"));
    g.link("/etc/hostname", canaries.path("hostname"));
    g.link("/etc/machine-id", canaries.path("machine-id"));
    g.link("/etc/network/interfaces", canaries.path("interfaces"));
    g.link("/etc/netplan", canaries.path("netplan"));
    g.link("/etc/cloud/cloud.cfg", canaries.path("cloud.cfg"));
    g.link("/etc/udev/rules.d/70-persistent-net.rules", canaries.path("70-persistent-net.rules"));
    g.link("/var/lib/dbus/machine-id", canaries.path("machine-id"));
    auto before = g.snapshot();
    std::vector<PlanFixup> records;
    EXPECT_NO_THROW(records = g.fix());
    canaries.check();
    // Inside the root those links dangle: every fixup skipped, except the
    // udev rule (a name to remove, never followed).
    EXPECT_FALSE(g.exists("/etc/udev/rules.d/70-persistent-net.rules"));
    auto after = g.snapshot();
    for (auto* changed : {&before, &after}) {
        changed->erase("/etc/udev/rules.d/70-persistent-net.rules");
        changed->erase("/etc/udev/rules.d"); // its mtime
    }
    EXPECT_EQ(after, before);
    EXPECT_EQ(dump(records), "udev | /etc/udev/rules.d/70-persistent-net.rules | removed: names NICs by the VM's MAC "
                             "addresses\n");
}

TEST(VmFixupsHostile, DotDotChainsStopAtTheGuestRoot) {
    Canaries canaries;
    GuestTree g;
    std::string up = climb("/etc");
    g.link("/etc/fstab", up + canaries.path("fstab").substr(1));
    g.link("/etc/hostname", up + canaries.path("hostname").substr(1));
    g.link("/etc/machine-id", up + canaries.path("machine-id").substr(1));
    g.link("/etc/network/interfaces", up + canaries.path("interfaces").substr(1));
    g.link("/etc/netplan", up + canaries.path("netplan").substr(1));
    g.put("/etc/network/interfaces.d/x", "source " + up + canaries.path("interfaces").substr(1) + "\n");
    g.link("/etc/systemd/network", up + canaries.dir().substr(1));
    g.link("/etc/runlevels", up + canaries.dir().substr(1));
    std::vector<PlanFixup> records;
    EXPECT_NO_THROW(records = g.fix());
    canaries.check();
    EXPECT_EQ(dump(records), "");
}

TEST(VmFixupsHostile, LinksThatResolveInsideTheRootAreReplacedNotFollowedForWriting) {
    Canaries canaries;
    GuestTree g;
    // The same absolute paths exist inside the root: the fixups act there.
    g.put(canaries.path("fstab"), fstab_bait);
    g.put(canaries.path("machine-id"), "0123456789abcdef0123456789abcdef\n", 0400);
    g.put(canaries.path("netplan/50-cloud-init.yaml"), netplan_bait);
    g.link("/etc/fstab", canaries.path("fstab"));
    g.link("/etc/machine-id", canaries.path("machine-id"));
    g.link("/etc/netplan", canaries.path("netplan"));
    // A shadow file a link makes look like fstab stays untouched.
    g.put("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
    g.link("/etc/crypttab", "/etc/shadow");
    // A ../ chain that climbs past the root lands inside it.
    g.put("/var/lib/dbus-real/machine-id", "0123456789abcdef0123456789abcdef\n");
    g.link("/var/lib/dbus", "../../../../../../../../var/lib/dbus-real");
    auto records = g.fix();
    canaries.check();
    EXPECT_EQ(g.target("/etc/fstab"), "");
    EXPECT_EQ(g.get("/etc/fstab"), "# lodge: root filesystem: UUID=1234 / ext4 defaults 0 1\n"
                                   "# lodge: swap: /dev/vdb none swap sw 0 0\n");
    EXPECT_EQ(g.get(canaries.path("fstab")), fstab_bait);
    EXPECT_EQ(g.get("/etc/machine-id"), "");
    EXPECT_EQ(fs::status(g.at("/etc/machine-id")).permissions(), static_cast<fs::perms>(0400));
    EXPECT_EQ(g.get(canaries.path("machine-id")), "0123456789abcdef0123456789abcdef\n");
    // /etc/netplan is a directory link inside the root: its file is rewritten there.
    EXPECT_NE(g.get(canaries.path("netplan/50-cloud-init.yaml")).find("eth0:"), std::string::npos);
    // The shadow "entry" was commented in a new /etc/crypttab, not in /etc/shadow.
    EXPECT_EQ(g.get("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
    EXPECT_EQ(g.target("/etc/crypttab"), "");
    EXPECT_EQ(fs::status(g.at("/etc/crypttab")).permissions(), static_cast<fs::perms>(0640));
    EXPECT_FALSE(g.exists("/var/lib/dbus-real/machine-id"));
    EXPECT_TRUE(
        has_record(records, "machine-id", "/var/lib/dbus/machine-id", "removed: D-Bus then uses /etc/machine-id"))
        << dump(records);
}

TEST(VmFixupsHostile, FifosDevicesLoopsAndHugeFilesAreSkipped) {
    GuestTree g;
    g.dir("/etc");
    ASSERT_EQ(::mkfifo(g.at("/etc/fstab").c_str(), 0644), 0);
    g.link("/etc/machine-id", "/etc/machine-id");
    g.link("/etc/network/interfaces", "/dev/zero");
    g.put("/etc/inittab", std::string(2 << 20, '#'));
    g.put("/etc/network/interfaces.d/a", "source /etc/network/interfaces.d/a\n");
    g.put("/etc/network/interfaces.d/b",
          "source /" + std::string(5000, 'x') + "\nsource-directory /" + std::string(300, 'y') + "\n");
    std::vector<PlanFixup> records;
    EXPECT_NO_THROW(records = g.fix());
    EXPECT_EQ(dump(records),
              "units | /etc/inittab | not changed: larger than 1 MiB, not a configuration file lodge reads\n");
    struct stat st;
    ASSERT_EQ(::lstat(g.at("/etc/fstab").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(VmFixupsHostile, NetplanFilesYamlCppCannotTakeChangeNothing) {
    GuestTree g;
    const std::string odd_key = "network:\n  ethernets:\n    ens3: {dhcp4: false}\n    ? [a, b]\n    : {}\n";
    g.put("/etc/netplan/01-odd.yaml", odd_key);
    g.put("/etc/netplan/02-broken.yaml", "network: [unclosed\n");
    std::vector<PlanFixup> records;
    EXPECT_NO_THROW(records = g.fix());
    EXPECT_EQ(g.get("/etc/netplan/01-odd.yaml"), odd_key);
    EXPECT_EQ(g.get("/etc/netplan/02-broken.yaml"), "network: [unclosed\n");
    ASSERT_EQ(records.size(), 2u) << dump(records);
    EXPECT_EQ(records[0].path, "/etc/netplan/02-broken.yaml");
    EXPECT_EQ(records[0].action.rfind("not changed: not valid YAML", 0), 0u) << dump(records);
    EXPECT_EQ(records[1].path, "/etc/netplan");
    EXPECT_EQ(records[1].action.rfind("not changed: a file netplan would reject", 0), 0u) << dump(records);
}

} // namespace lodge::vm::test
