// Devices of a container, as an admin meets them: what the device cgroup
// refuses (host disks, /dev/mem, nodes smuggled in through the image, also
// for a privileged root), device nodes from the config, and hot-plug of
// device nodes and host directories into a running container. On this
// hybrid host both the v1 devices controller and the v2 BPF program are in
// force; each is checked to refuse on its own.
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace lodge::test;
using json = nlohmann::json;

namespace {

const char eperm[] = "Operation not permitted";

// The first disk of the host (/proc/partitions), "major minor".
std::pair<unsigned, unsigned> host_disk() {
    std::ifstream in("/proc/partitions");
    std::string line;
    while (std::getline(in, line)) {
        unsigned major = 0, minor = 0;
        if (std::sscanf(line.c_str(), " %u %u", &major, &minor) == 2) return {major, minor};
    }
    return {0, 0};
}

void make_node(const std::string& path, mode_t type, unsigned major, unsigned minor) {
    ASSERT_EQ(::mknod(path.c_str(), type | 0666, makedev(major, minor)), 0) << path << ": " << std::strerror(errno);
}

// Opens path for reading inside c (and reads a byte); the error busybox dd
// prints, or "" when the open worked.
std::string open_error(Container& c, const std::string& path) {
    Result r = c.exec({"dd", "if=" + path, "of=/dev/null", "bs=1", "count=1"});
    if (r.err.find("can't open") != std::string::npos) return r.err;
    return "";
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

json config_of(Container& c) {
    std::ifstream in(c.run_dir() + "/" + c.name() + "/config.json");
    return json::parse(in);
}

json device_state(Container& c) {
    Result r = c.runtime({"device", "list", c.name()});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.status == 0 ? json::parse(r.out) : json::object();
}

// The container's directory in the v1 devices hierarchy ("" without one).
std::string v1_devices_dir(Container& c) {
    std::ifstream in(c.run_dir() + "/" + c.name() + "/cgroups");
    std::string line;
    while (std::getline(in, line))
        if (::access((line + "/devices.allow").c_str(), F_OK) == 0) return line;
    return "";
}

void write_cgroup(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.close();
    ASSERT_TRUE(out.good()) << "write " << value << " to " << path;
}

bool mounted_inside(Container& c, const std::string& target) {
    return c.exec({"grep", "-q", " " + target + " ", "/proc/self/mountinfo"}).status == 0;
}

} // namespace

// An unprivileged root may open nodes it owns, so a node of the image with
// the numbers of the host's disk or of /dev/mem would be a way out; the
// device cgroup refuses both, and the standard nodes still work.
TEST(Devices, NodesSmuggledInThroughTheImageCannotBeOpened) {
    Container c("dv-smuggle", "busybox");
    auto [major, minor] = host_disk();
    ASSERT_NE(major, 0u);
    make_node(c.rootfs() + "/root/disk", S_IFBLK, major, minor);
    make_node(c.rootfs() + "/root/mem", S_IFCHR, 1, 1);
    make_node(c.rootfs() + "/root/tun", S_IFCHR, 10, 200);
    ASSERT_EQ(c.start().status, 0);

    for (const char* node : {"/root/disk", "/root/mem", "/root/tun"})
        EXPECT_NE(open_error(c, node).find(eperm), std::string::npos) << node;
    EXPECT_NE(c.exec({"mknod", "/tmp/disk", "b", std::to_string(major), std::to_string(minor)}).err.find(eperm),
              std::string::npos);
    Result null = c.exec({"sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c"});
    EXPECT_EQ(null.status, 0) << null.err;
    EXPECT_EQ(null.out, "4\n4\n");
    // A terminal in the container's devpts (ptmx 5:2, slave 136:N).
    Result tty = c.exec({"tty"}, "", {"-t"});
    EXPECT_EQ(tty.status, 0) << tty.out << tty.err;

    json st = device_state(c);
    EXPECT_TRUE(st["v1"].is_array()) << st.dump();
    EXPECT_EQ(st["v1"], st["expected"]) << st.dump();
    EXPECT_TRUE(st["v2"].get<bool>()) << st.dump();
    EXPECT_TRUE(st["v2_intact"].get<bool>()) << st.dump();
    EXPECT_EQ(st["v2_attached"], json::array({st["v2_program"]})) << st.dump();
}

// Without a user namespace root has CAP_MKNOD and every right on a node;
// only the device cgroup stands between it and the host's disks and memory.
// It keeps its own cgroup namespace, the seccomp filter and the capability
// drops all the same.
TEST(Devices, PrivilegedRootCannotMknodHostDisksOrMemory) {
    Container c("dv-priv", "busybox");
    make_node(c.rootfs() + "/root/mem", S_IFCHR, 1, 1);
    ASSERT_EQ(c.start({"--privileged"}).status, 0);
    auto [major, minor] = host_disk();

    Result disk = c.exec({"mknod", "/tmp/disk", "b", std::to_string(major), std::to_string(minor)});
    EXPECT_NE(disk.status, 0);
    EXPECT_NE(disk.err.find(eperm), std::string::npos) << disk.err;
    Result mem = c.exec({"mknod", "/tmp/mem", "c", "1", "1"});
    EXPECT_NE(mem.err.find(eperm), std::string::npos) << mem.err;
    EXPECT_NE(open_error(c, "/root/mem").find(eperm), std::string::npos);
    // The standard nodes may be made and used: root is root.
    Result null = c.exec({"sh", "-c", "mknod /tmp/null c 1 3 && echo x > /tmp/null && stat -c %u /tmp/null"});
    EXPECT_EQ(null.status, 0) << null.err;
    EXPECT_EQ(null.out, "0\n");

    // Its own cgroup namespace: every hierarchy shows the container's cgroup as /.
    std::istringstream cgroups(c.exec({"cat", "/proc/1/cgroup"}).out);
    int lines = 0;
    for (std::string line; std::getline(cgroups, line); ++lines)
        EXPECT_EQ(line.substr(line.rfind(':')), ":/") << line;
    EXPECT_GT(lines, 0);
    // The seccomp filter (mode 2) and the bounding set without sys_module (16) and sys_rawio (17).
    std::string status = c.exec({"cat", "/proc/1/status"}).out;
    EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
    auto at = status.find("CapBnd:\t");
    ASSERT_NE(at, std::string::npos);
    unsigned long long bnd = std::stoull(status.substr(at + 8, 16), nullptr, 16);
    EXPECT_EQ(bnd & (1ULL << 16), 0u);
    EXPECT_EQ(bnd & (1ULL << 17), 0u);
    EXPECT_NE(bnd & (1ULL << 21), 0u) << "sys_admin stays for a privileged container";

    // With CAP_SYS_ADMIN it can mount the v1 devices hierarchy and allow
    // itself everything there; the v2 program still refuses, and audit
    // sees the change.
    if (!device_state(c)["v2"].get<bool>()) return;
    Result undo = c.exec({"sh", "-c", "mkdir -p /tmp/cg && mount -t cgroup -o devices cgroup /tmp/cg && echo a > /tmp/cg/devices.allow"});
    if (undo.status == 0) {
        Result again = c.exec({"mknod", "/tmp/disk2", "b", std::to_string(major), std::to_string(minor)});
        EXPECT_NE(again.err.find(eperm), std::string::npos) << again.err;
        json st = device_state(c);
        EXPECT_NE(st["v1"], st["expected"]) << st.dump();
        EXPECT_TRUE(st["v2_intact"].get<bool>()) << st.dump();
    }
}

// Nodes from the config: made by the host, owned by the configured ids,
// usable, anywhere in the tree.
TEST(Devices, NodesFromTheConfigAreUsableInside) {
    Container c("dv-config", "busybox");
    ASSERT_EQ(c.start({"--device", "c:10:200:/dev/net/tun:0666", "--device", "c:1:3:/opt/dev/mynull:0620"}).status, 0);

    // An open tun device that is not attached yet reads EBADFD: the open worked.
    Result tun = c.exec({"dd", "if=/dev/net/tun", "of=/dev/null", "bs=1", "count=1"});
    EXPECT_EQ(tun.err.find("can't open"), std::string::npos) << tun.err;
    EXPECT_NE(tun.err.find("bad state"), std::string::npos) << tun.err;
    EXPECT_EQ(trim(c.exec({"stat", "-c", "%F %t:%T %a %u:%g", "/dev/net/tun"}).out), "character special file a:c8 666 0:0");
    EXPECT_EQ(c.exec({"sh", "-c", "echo x > /opt/dev/mynull && wc -c < /opt/dev/mynull"}).out, "0\n");
    EXPECT_EQ(trim(c.exec({"stat", "-c", "%a %u", "/opt/dev/mynull", "/opt/dev"}).out), "620 0\n755 0");
    // Made as the container's root through the idmapped root: on disk,
    // the mount point directory belongs to the image's root.
    struct stat st;
    ASSERT_EQ(::stat((c.rootfs() + "/opt/dev").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_NE(device_state(c)["expected"].dump().find("c 10:200 rwm"), std::string::npos);
}

TEST(Devices, HotPluggedNodeWorksUntilRemovedEverywhere) {
    Container c("dv-hotdev", "busybox");
    // The same numbers reachable another way: a node from the image.
    make_node(c.rootfs() + "/root/tun", S_IFCHR, 10, 200);
    ASSERT_EQ(c.start().status, 0);
    EXPECT_NE(open_error(c, "/root/tun").find(eperm), std::string::npos);

    Result add = c.runtime({"device", "add", c.name(), "--char", "--path", "/dev/net/tun", "--major", "10",
                            "--minor", "200", "--uid", "0", "--gid", "5", "--mode", "0660"});
    ASSERT_EQ(add.status, 0) << add.err;
    EXPECT_EQ(open_error(c, "/dev/net/tun"), "");
    EXPECT_EQ(open_error(c, "/root/tun"), "");
    EXPECT_EQ(trim(c.exec({"stat", "-c", "%a %u:%g", "/dev/net/tun"}).out), "660 0:5");
    EXPECT_EQ(config_of(c)["devices"].size(), 1u);
    json st = device_state(c);
    EXPECT_TRUE(st["v2_intact"].get<bool>()) << st.dump();
    EXPECT_EQ(st["v1"], st["expected"]) << st.dump();
    EXPECT_EQ(st["v2_attached"].size(), 1u) << "the old program was replaced, not joined: " << st.dump();

    Result again = c.runtime({"device", "add", c.name(), "--char", "--path", "/dev/net/tun", "--major", "1",
                              "--minor", "3"});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.err.find("already"), std::string::npos) << again.err;

    Result rm = c.runtime({"device", "remove", c.name(), "/dev/net/tun"});
    ASSERT_EQ(rm.status, 0) << rm.err;
    EXPECT_NE(c.exec({"ls", "/dev/net/tun"}).status, 0) << "the node is gone";
    EXPECT_NE(open_error(c, "/root/tun").find(eperm), std::string::npos) << "the rule was withdrawn";
    EXPECT_EQ(config_of(c)["devices"].size(), 0u);
    st = device_state(c);
    EXPECT_TRUE(st["v2_intact"].get<bool>()) << st.dump();
    EXPECT_EQ(st["v1"], st["expected"]) << st.dump();
    EXPECT_EQ(c.exec({"sh", "-c", "echo x > /dev/null"}).status, 0);
    Result missing = c.runtime({"device", "remove", c.name(), "/dev/net/tun"});
    EXPECT_EQ(missing.status, 3) << missing.err; // 404
}

// A host directory whose files belong to host uid 1000 shows them as uid
// 1000 inside (idmapped, nothing chowned); read-only is read-only; removal
// unmounts.
TEST(Devices, HotPluggedDirectoryKeepsOwnersAndGoesAway) {
    TempDir host("lodge-dv-mount");
    std::string src = host.path() + "/data";
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    { std::ofstream(src + "/hello") << "hello\n"; }
    ASSERT_EQ(::chown(src.c_str(), 1000, 1000), 0);
    ASSERT_EQ(::chown((src + "/hello").c_str(), 1000, 1000), 0);

    Container c("dv-hotmnt", "busybox");
    ASSERT_EQ(c.start().status, 0);
    Result add = c.runtime({"mount", "add", c.name(), src, "/mnt/data"});
    ASSERT_EQ(add.status, 0) << add.err;
    Result ro = c.runtime({"mount", "add", c.name(), src, "/srv/ro", "--readonly"});
    ASSERT_EQ(ro.status, 0) << ro.err;

    EXPECT_EQ(c.exec({"cat", "/mnt/data/hello"}).out, "hello\n");
    EXPECT_EQ(c.exec({"stat", "-c", "%u:%g", "/mnt/data/hello", "/mnt/data"}).out, "1000:1000\n1000:1000\n");
    // A user of the container writes as its owner, and the host sees uid 1000.
    EXPECT_EQ(c.exec({"sh", "-c", "echo more >> /mnt/data/hello"}, "", {"--user", "1000"}).status, 0);
    Result rofs = c.exec({"touch", "/srv/ro/x"});
    EXPECT_NE(rofs.status, 0);
    EXPECT_NE(rofs.err.find("Read-only"), std::string::npos) << rofs.err;
    // The guest's root can't make it writable: its flags are locked.
    Result remount = c.exec({"mount", "-o", "remount,bind,rw", "/srv/ro"});
    EXPECT_NE(remount.status, 0) << remount.out;
    EXPECT_NE(c.exec({"touch", "/srv/ro/x"}).status, 0);
    EXPECT_NE(::access((src + "/x").c_str(), F_OK), 0);
    EXPECT_EQ(config_of(c)["mounts"].size(), 2u);
    EXPECT_TRUE(config_of(c)["mounts"][1]["readonly"].get<bool>());

    // Without shift, a plain bind: host uid 1000 is outside the id map.
    ASSERT_EQ(c.runtime({"mount", "add", c.name(), src, "/mnt/plain", "--no-shift"}).status, 0);
    EXPECT_EQ(c.exec({"stat", "-c", "%u:%g", "/mnt/plain/hello"}).out, "65534:65534\n");
    ASSERT_EQ(c.runtime({"mount", "remove", c.name(), "/mnt/plain"}).status, 0);

    ASSERT_EQ(c.runtime({"mount", "remove", c.name(), "/mnt/data"}).status, 0);
    EXPECT_FALSE(mounted_inside(c, "/mnt/data"));
    EXPECT_NE(c.exec({"cat", "/mnt/data/hello"}).status, 0);
    EXPECT_TRUE(mounted_inside(c, "/srv/ro"));
    ASSERT_EQ(c.runtime({"mount", "remove", c.name(), "/srv/ro"}).status, 0);
    EXPECT_FALSE(mounted_inside(c, "/srv/ro"));
    EXPECT_EQ(config_of(c)["mounts"].size(), 0u);

    struct stat st;
    ASSERT_EQ(::stat((src + "/hello").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1000u);
    std::ifstream in(src + "/hello");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "hello\nmore\n");
}

// The guest owns its tree and may plant symlinks where a mount is to go;
// they are never followed: not inside, and never to the host.
TEST(Devices, HotPlugRefusesTargetsTheGuestTurnedIntoSymlinks) {
    TempDir host("lodge-dv-link");
    std::string src = host.path() + "/data";
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    { std::ofstream(src + "/marker") << "x"; }
    Container c("dv-symlink", "busybox");
    ASSERT_EQ(c.start().status, 0);
    ASSERT_EQ(c.exec({"sh", "-c", "mkdir -p /mnt && ln -s /etc /mnt/evil && ln -s ../../../../tmp /mnt/up"}).status, 0);

    for (const char* target : {"/mnt/evil", "/mnt/evil/sub", "/mnt/up/x"}) {
        Result r = c.runtime({"mount", "add", c.name(), src, target});
        EXPECT_NE(r.status, 0) << target;
        EXPECT_NE(r.err.find("symlink"), std::string::npos) << target << ": " << r.err;
    }
    Result dev = c.runtime({"device", "add", c.name(), "--char", "--path", "/mnt/evil/null2", "--major", "1", "--minor", "3"});
    EXPECT_NE(dev.status, 0);
    EXPECT_NE(dev.err.find("symlink"), std::string::npos) << dev.err;

    EXPECT_NE(c.exec({"ls", "/etc/sub"}).status, 0);
    EXPECT_NE(c.exec({"ls", "/etc/marker"}).status, 0);
    EXPECT_NE(::access("/etc/sub", F_OK), 0);
    EXPECT_NE(::access("/tmp/x/marker", F_OK), 0);
    EXPECT_TRUE(leftovers("", src).empty()) << "nothing of the source is mounted on the host";
    EXPECT_EQ(config_of(c)["mounts"].size(), 0u);
    EXPECT_EQ(config_of(c)["devices"].size(), 0u);
    json st = device_state(c);
    EXPECT_EQ(st["v1"], st["expected"]) << "a failed add withdrew its rule: " << st.dump();
    EXPECT_TRUE(st["v2_intact"].get<bool>());
}

// Each layer refuses on its own: a v1 allow line does not get past the BPF
// program, and a node the program allows is refused once v1 denies it.
TEST(Devices, V1RulesAndTheV2ProgramEachRefuseOnTheirOwn) {
    Container c("dv-layers", "busybox");
    make_node(c.rootfs() + "/root/tun", S_IFCHR, 10, 200);
    ASSERT_EQ(c.start().status, 0);
    std::string v1 = v1_devices_dir(c);
    ASSERT_NE(v1, "") << "this host has the v1 devices controller";
    ASSERT_TRUE(device_state(c)["v2"].get<bool>()) << "this host has cgroup2";

    // v1 allows, the program does not.
    write_cgroup(v1 + "/devices.allow", "c 10:200 rwm");
    EXPECT_NE(open_error(c, "/root/tun").find(eperm), std::string::npos);
    write_cgroup(v1 + "/devices.deny", "c 10:200 rwm");

    // Both allow, then v1 takes it back behind lodge's back.
    ASSERT_EQ(c.runtime({"device", "add", c.name(), "--char", "--path", "/dev/net/tun", "--major", "10", "--minor", "200"})
                  .status,
              0);
    EXPECT_EQ(open_error(c, "/root/tun"), "");
    write_cgroup(v1 + "/devices.deny", "c 10:200 rwm");
    EXPECT_NE(open_error(c, "/root/tun").find(eperm), std::string::npos);
    // Audit sees the difference.
    json st = device_state(c);
    EXPECT_NE(st["v1"], st["expected"]) << st.dump();
}

// What the config put in at start can be unplugged live like what was
// hot-plugged, and is just as locked against the guest's remounts.
TEST(Devices, ConfigMountsAndNodesCanBeUnpluggedLive) {
    TempDir host("lodge-dv-cfg");
    std::string src = host.path() + "/data";
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    { std::ofstream(src + "/hello") << "hello\n"; }
    Container c("dv-unplug", "busybox");
    make_node(c.rootfs() + "/root/tun", S_IFCHR, 10, 200);
    Result start = c.start({"--mount", src + ":/mnt/cfg:ro", "--device", "c:10:200:/dev/net/tun:0600"});
    ASSERT_EQ(start.status, 0) << start.err;

    EXPECT_EQ(c.exec({"cat", "/mnt/cfg/hello"}).out, "hello\n");
    EXPECT_NE(c.exec({"mount", "-o", "remount,bind,rw", "/mnt/cfg"}).status, 0);
    EXPECT_NE(c.exec({"touch", "/mnt/cfg/x"}).status, 0);
    EXPECT_EQ(open_error(c, "/dev/net/tun"), "");

    Result rm = c.runtime({"mount", "remove", c.name(), "/mnt/cfg"});
    ASSERT_EQ(rm.status, 0) << rm.err;
    EXPECT_FALSE(mounted_inside(c, "/mnt/cfg"));
    Result rmdev = c.runtime({"device", "remove", c.name(), "/dev/net/tun"});
    ASSERT_EQ(rmdev.status, 0) << rmdev.err;
    EXPECT_NE(c.exec({"ls", "/dev/net/tun"}).status, 0);
    EXPECT_NE(open_error(c, "/root/tun").find(eperm), std::string::npos);
    EXPECT_EQ(config_of(c)["mounts"].size(), 0u);
    EXPECT_EQ(config_of(c)["devices"].size(), 0u);
}

// A config whose mount target the image made a symlink fails to start,
// naming the path, and leaves nothing behind.
TEST(Devices, ImageSymlinkOnAMountTargetFailsTheStart) {
    TempDir host("lodge-dv-img");
    Container c("dv-imglink", "busybox");
    ASSERT_EQ(::symlink("/etc", (c.rootfs() + "/mnt-evil").c_str()), 0);
    Result start = c.start({"--mount", host.path() + ":/mnt-evil/sub"});
    EXPECT_NE(start.status, 0);
    EXPECT_NE(start.err.find("symlink"), std::string::npos) << start.err;
    EXPECT_NE(::access((c.rootfs() + "/etc/sub").c_str(), F_OK), 0);
    EXPECT_TRUE(wait_until([&] { return leftovers(c.name(), c.rootfs()).empty(); }, 5));
}

// A privileged container has no user namespace to lock mounts against: its
// hot-plug goes straight into its mount namespace, and works the same.
TEST(Devices, HotPlugIntoAPrivilegedContainer) {
    TempDir host("lodge-dv-privhot");
    std::string src = host.path() + "/data";
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    { std::ofstream(src + "/hello") << "hello\n"; }
    ASSERT_EQ(::chown((src + "/hello").c_str(), 1000, 1000), 0);
    Container c("dv-privhot", "busybox");
    ASSERT_EQ(c.start({"--privileged"}).status, 0);

    Result add = c.runtime({"mount", "add", c.name(), src, "/mnt/data", "--readonly"});
    ASSERT_EQ(add.status, 0) << add.err;
    EXPECT_EQ(c.exec({"stat", "-c", "%u %n", "/mnt/data/hello"}).out, "1000 /mnt/data/hello\n");
    EXPECT_NE(c.exec({"touch", "/mnt/data/x"}).status, 0);
    Result dev = c.runtime({"device", "add", c.name(), "--char", "--path", "/dev/net/tun", "--major", "10", "--minor", "200"});
    ASSERT_EQ(dev.status, 0) << dev.err;
    EXPECT_EQ(open_error(c, "/dev/net/tun"), "");

    ASSERT_EQ(c.runtime({"device", "remove", c.name(), "/dev/net/tun"}).status, 0);
    Result made = c.exec({"sh", "-c", "mknod /tmp/tun c 10 200 && dd if=/tmp/tun of=/dev/null bs=1 count=1"});
    EXPECT_NE(made.err.find(eperm), std::string::npos) << made.err;
    ASSERT_EQ(c.runtime({"mount", "remove", c.name(), "/mnt/data"}).status, 0);
    EXPECT_FALSE(mounted_inside(c, "/mnt/data"));
}
