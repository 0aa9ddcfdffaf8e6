// VM disks into containers, as an admin moving VMs does it: each test disk
// (made from the debian fixture by tests/fixtures/vm-disks.sh, laid out as
// installers lay out VMs) is imported with `lodge image import-vm`,
// launched, and must reach systemd `running` with no failed unit and the
// guest's files all there. Hostile disks are refused and never make lodged
// open a file outside its work directory; a killed import leaves nothing.
#include "common/certificate.hpp"
#include "tests/integration/lxc_session.hpp"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string vm_disk(const std::string& name) { return fixture("vm-disks") + "/" + name; }

// key=value lines of a disk's .expect file (tests/fixtures/vm-disks.sh).
std::map<std::string, std::string> expectations(const std::string& disk) {
    std::map<std::string, std::string> out;
    std::ifstream in(vm_disk(disk) + ".expect");
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

// Watches files for any open (IN_OPEN) while alive: a hostile disk's named
// host file must never be opened, by lodged or by any tool it runs.
class OpenWatch {
public:
    explicit OpenWatch(const std::vector<std::string>& paths) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        for (const auto& p : paths) ::inotify_add_watch(fd_, p.c_str(), IN_OPEN | IN_ACCESS | IN_MODIFY);
    }
    ~OpenWatch() { ::close(fd_); }
    // Events seen since the watch began.
    int events() {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd_, buf, sizeof buf)) > 0)
            for (char* p = buf; p < buf + n;) {
                auto* e = reinterpret_cast<inotify_event*>(p);
                ++count_;
                p += sizeof(inotify_event) + e->len;
            }
        return count_;
    }

private:
    int fd_;
    int count_ = 0;
};

// Loop devices whose backing file is under `dir`.
std::string loops_under(const std::string& dir) {
    return run({"sh", "-c", "losetup -a | grep -F \"$0\" || true", dir}).out;
}

class VmImport : public LxcSession {
protected:
    VmImport() : LxcSession("lodge-vm") {}

    void TearDown() override {
        LxcSession::TearDown();
        // Nothing of any import stays attached or in the work directory.
        EXPECT_EQ(loops_under(state_.path()), "");
    }

    std::string fingerprint_of(const Result& r) {
        std::smatch m;
        static const std::regex line("Image imported with fingerprint: ([0-9a-f]{64})\n");
        return std::regex_search(r.out, m, line) ? m[1].str() : "";
    }

    // Inside a running instance, as root.
    Result in(const std::string& name, std::vector<std::string> cmd) {
        std::vector<std::string> args{"exec", name, "--"};
        args.insert(args.end(), cmd.begin(), cmd.end());
        return lodge(args);
    }

    std::string image_rootfs(const std::string& fingerprint) {
        return state_.path() + "/storage-pools/default/images/" + fingerprint + "/rootfs";
    }

    bool vm_work_empty() { return fs::is_empty(state_.path() + "/vm-import"); }
};

class VmDisks : public VmImport, public ::testing::WithParamInterface<std::string> {};

// Files (all types) and bytes of regular files in a tree, hardlinks once,
// leaving out the given paths (relative, from the plan's fixups).
std::pair<std::uint64_t, std::uint64_t> count_tree(const std::string& root, const std::set<std::string>& leave_out) {
    std::uint64_t files = 0, bytes = 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none);
         it != fs::recursive_directory_iterator(); ++it) {
        const auto rel = "/" + fs::relative(it->path(), root).string();
        if (leave_out.count(rel)) continue;
        struct stat st{};
        if (::lstat(it->path().c_str(), &st) != 0) continue;
        ++files;
        if (S_ISREG(st.st_mode) && seen.insert({st.st_dev, st.st_ino}).second) bytes += st.st_size;
    }
    return {files, bytes};
}

TEST_P(VmDisks, ImportsLaunchesAndBootsWithNoFailedUnit) {
    const auto disk = GetParam();
    const auto alias = "vm-" + disk.substr(0, disk.find('.'));
    auto r = lodge({"image", "import-vm", vm_disk(disk), "--alias", alias});
    ASSERT_EQ(r.status, 0) << r.out << r.err << lodged_->log();
    const auto fp = fingerprint_of(r);
    ASSERT_FALSE(fp.empty()) << r.out;
    EXPECT_TRUE(vm_work_empty());
    auto image = lodged_->request("GET", "/1.0/images/" + fp).json()["metadata"];
    EXPECT_EQ(image["properties"]["os"], "Debian GNU/Linux") << image.dump(2);
    EXPECT_EQ(image["properties"]["release"], "bookworm");
    EXPECT_EQ(image["architecture"], "x86_64");
    const std::string fixups = image["properties"].value("lodge.import.fixups", "");
    EXPECT_NE(fixups.find("/etc/fstab"), std::string::npos) << fixups;
    EXPECT_NE(fixups.find("serial-getty@ttyS0.service"), std::string::npos) << fixups;

    // The files of every guest filesystem, fixup files aside.
    const auto expect = expectations(disk);
    std::set<std::string> fixed;
    std::istringstream fixup_lines(fixups);
    for (std::string line; std::getline(fixup_lines, line);) {
        auto open = line.find("] ");
        auto colon = line.find(": ", open);
        if (open != std::string::npos && colon != std::string::npos) fixed.insert(line.substr(open + 2, colon - open - 2));
    }
    if (expect.count("files") && expect.count("bytes")) {
        auto [files, bytes] = count_tree(image_rootfs(fp), fixed);
        EXPECT_EQ(std::to_string(files), expect.at("files")) << disk;
        EXPECT_EQ(std::to_string(bytes), expect.at("bytes")) << disk;
    }

    const auto name = alias + "-c";
    r = lodge({"launch", alias, name, "--wait"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(in(name, {"systemctl", "is-system-running"}).out, "running\n")
        << in(name, {"systemctl", "--failed", "--no-pager"}).out;
    EXPECT_EQ(in(name, {"systemctl", "--failed", "--no-legend", "--plain"}).out, "");
    if (expect.count("home_marker")) {
        const auto marker = expect.at("home_marker");
        auto colon = marker.find(':');
        EXPECT_EQ(in(name, {"cat", marker.substr(0, colon)}).out, marker.substr(colon + 1) + "\n");
    }
    // A fresh machine-id per instance, and the VM's NIC config now eth0.
    EXPECT_EQ(in(name, {"cat", "/etc/machine-id"}).out.size(), 33u);
    EXPECT_NE(in(name, {"cat", "/etc/machine-id"}).out, expect.count("machine_id") ? expect.at("machine_id") + "\n" : "");
    ASSERT_EQ(lodge({"delete", "-f", name}).status, 0);
}

INSTANTIATE_TEST_SUITE_P(Disks, VmDisks,
                         ::testing::Values("mbr-ext4.raw", "gpt-xfs.qcow2", "btrfs-subvol.vmdk", "lvm.qcow2",
                                           "dirty-ext4.qcow2"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (auto& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST_F(VmImport, DryRunPrintsThePlanAndChangesNothing) {
    auto r = lodge({"image", "import-vm", vm_disk("lvm.qcow2"), "--dry-run"});
    ASSERT_EQ(r.status, 0) << r.out << r.err << lodged_->log();
    for (const char* expected : {"Disk: qcow2", "Partition table: ", "lv vg0/root", "Root: lv vg0/root (holds /etc/fstab",
                                 "2 segments, assembled into one file", "/boot", "skipped: swap", "Fixups:",
                                 "[fstab] /etc/fstab", "Guest: Debian GNU/Linux bookworm"})
        EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
    EXPECT_EQ(lodge({"image", "list", "--format", "csv"}).out, "");
    EXPECT_TRUE(vm_work_empty());
    EXPECT_TRUE(fs::is_empty(state_.path() + "/storage-pools/default/images"));
}

TEST_F(VmImport, KilledImportLeavesNothingAfterRestart) {
    Background import({"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state_.path(), "HOME=" + home_.path(),
                       bin("lodge"), "image", "import-vm", vm_disk("gpt-xfs.qcow2"), "--alias", "vm-killed"});
    // Killed while it copies: filesystems mounted, loop devices attached.
    ASSERT_TRUE(wait_until(
        [&] {
            auto ops = lodged_->request("GET", "/1.0/operations?recursion=1").json()["metadata"];
            for (const auto& [status, list] : ops.items())
                for (const auto& op : list)
                    if (op["metadata"].is_object() &&
                        op["metadata"].value("vm_import_progress", "").rfind("copying", 0) == 0)
                        return true;
            return false;
        },
        120))
        << lodged_->log();
    EXPECT_NE(loops_under(state_.path()), "");
    lodged_->stop(SIGKILL);
    import.wait_exit(30);
    // The import's mounts lived in its own mount namespace: with lodged
    // gone, its loop devices detach themselves.
    EXPECT_TRUE(wait_until([&] { return loops_under(state_.path()).empty(); }, 10)) << loops_under(state_.path());
    EXPECT_FALSE(vm_work_empty());
    lodged_ = std::make_unique<Lodged>(state_.path());
    EXPECT_TRUE(vm_work_empty());
    EXPECT_TRUE(fs::is_empty(state_.path() + "/storage-pools/default/images"));
    EXPECT_NE(lodged_->log().find("vm import: removed"), std::string::npos) << lodged_->log();
    EXPECT_EQ(lodge({"image", "list", "--format", "csv"}).out, "");
}

// A machine's root tree streamed into a second lodged over HTTPS with a
// trust token, fixed up there, and booting.
TEST_F(VmImport, MigrateSourceTreeIntoAnotherLodgedOverHttps) {
    TempDir state2("lodge-vm-target");
    Lodged target(state2.path());
    const auto address = "127.0.0.1:" + std::to_string(free_loopback_port());
    auto r0 = target.request("PATCH", "/1.0", json{{"config", {{"core.https_address", address}}}}.dump());
    ASSERT_EQ(r0.status, 200) << r0.body;
    auto token_op = target.request("POST", "/1.0/certificates",
                                   json{{"name", "ws"}, {"type", "client"}, {"token", true}}.dump());
    ASSERT_EQ(token_op.status, 202) << token_op.body;
    auto m = token_op.json()["metadata"]["metadata"];
    json token{{"client_name", "ws"},
               {"fingerprint", m["fingerprint"]},
               {"addresses", m["addresses"]},
               {"secret", m["secret"]},
               {"expires_at", "0001-01-01T00:00:00Z"}};
    auto r = lodge({"remote", "add", "srv", "https://" + address, "--token", lodge::base64_encode(token.dump())});
    ASSERT_EQ(r.status, 0) << r.out << r.err;

    // A machine as it runs: its fstab names its disk, a serial console is
    // enabled, it has its own machine-id.
    RootfsCopy machine("debian");
    {
        std::ofstream(machine.path() + "/etc/fstab") << "UUID=0b0e6a52-8f1c-4d1e-9a7e-3c2b1d0e5f6a / ext4 errors=remount-ro 0 1\n"
                                                     << "/dev/vda2 none swap sw 0 0\n";
        std::ofstream(machine.path() + "/etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
        fs::create_directories(machine.path() + "/etc/systemd/system/getty.target.wants");
        fs::create_symlink("/lib/systemd/system/serial-getty@.service",
                           machine.path() + "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service");
        std::ofstream(machine.path() + "/root/marker") << "migrated\n";
    }
    r = lodge({"migrate", "--source", machine.path(), "srv:mig1"});
    ASSERT_EQ(r.status, 0) << r.out << r.err << target.log();
    EXPECT_NE(r.out.find("Instance mig1 created"), std::string::npos) << r.out;

    auto on_target = [&](std::vector<std::string> args) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "LODGE_DIR=" + state2.path(),
                                      "HOME=" + home_.path() + "/target", bin("lodge")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 120);
    };
    r = on_target({"start", "mig1"});
    ASSERT_EQ(r.status, 0) << r.err << target.log();
    EXPECT_EQ(on_target({"exec", "mig1", "--", "systemctl", "is-system-running", "--wait"}).out, "running\n")
        << on_target({"exec", "mig1", "--", "systemctl", "--failed", "--no-pager"}).out;
    EXPECT_EQ(on_target({"exec", "mig1", "--", "cat", "/root/marker"}).out, "migrated\n");
    EXPECT_NE(on_target({"exec", "mig1", "--", "cat", "/etc/machine-id"}).out, "0123456789abcdef0123456789abcdef\n");
    EXPECT_EQ(on_target({"config", "get", "mig1", "image.os"}).out, "Debian GNU/Linux\n");
    ASSERT_EQ(on_target({"delete", "-f", "mig1"}).status, 0);
    stop_all_containers(state2.path());
}

} // namespace
} // namespace lodge::test
