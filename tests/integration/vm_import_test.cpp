// VM disks into containers, as an admin moving VMs does it: each test disk
// (made from the debian fixture by tests/fixtures/vm-disks.sh, laid out as
// installers lay out VMs) is imported with `lodge image import-vm`,
// launched, and must reach systemd `running` with no failed unit and the
// guest's files all there. Hostile disks are refused and never make lodged
// open a file outside its work directory; a killed import leaves nothing.
#include "common/certificate.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "tests/integration/lxc_session.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
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

// One line per path as the fixture's .manifest has it: path, type (find's
// %y), mode (octal with setuid/sticky), uid, gid, size (files and
// symlinks), link target; tab separated.
std::map<std::string, std::string> manifest_of(const std::string& root) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        struct stat st{};
        if (::lstat(it->path().c_str(), &st) != 0) continue;
        const char type = S_ISREG(st.st_mode)    ? 'f'
                          : S_ISDIR(st.st_mode)  ? 'd'
                          : S_ISLNK(st.st_mode)  ? 'l'
                          : S_ISFIFO(st.st_mode) ? 'p'
                          : S_ISCHR(st.st_mode)  ? 'c'
                          : S_ISBLK(st.st_mode)  ? 'b'
                                                 : 's';
        std::string target;
        if (type == 'l') target = fs::read_symlink(it->path()).string();
        char mode[16];
        std::snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
        const auto size = type == 'f' || type == 'l' ? st.st_size : 0;
        out[it->path().string().substr(root.size())] = std::string(1, type) + "\t" + mode + "\t" +
                                                             std::to_string(st.st_uid) + "\t" +
                                                             std::to_string(st.st_gid) + "\t" + std::to_string(size) +
                                                             "\t" + target;
    }
    return out;
}

std::map<std::string, std::string> read_manifest(const std::string& file) {
    std::map<std::string, std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        auto tab = line.find('\t');
        if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return out;
}

// Counts and bytes of the entries a comparison keeps.
struct Tally {
    std::uint64_t entries = 0, bytes = 0;
    void add(const std::string& line) {
        ++entries;
        std::istringstream f(line);
        std::string type, mode, uid, gid, size;
        f >> type >> mode >> uid >> gid >> size;
        if (type == "f") bytes += std::stoull(size);
    }
};

TEST_P(VmDisks, ImportsLaunchesAndBootsWithNoFailedUnit) {
    const auto disk = GetParam();
    const auto alias = "vm-" + disk.substr(0, disk.find('.'));
    // The local lodged reads a disk in place; the raw one goes through the
    // upload (as to a remote), written sparse as it arrives.
    std::vector<std::string> args{"image", "import-vm", vm_disk(disk), "--alias", alias};
    if (disk == "mbr-ext4.raw") args.push_back("--upload");
    auto r = lodge(args);
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

    // Every file of every guest filesystem the import reads, path by path,
    // with type, mode, owner, size and link target; fixup files aside, the
    // EFI partition (not imported) and ext4's lost+found aside.
    const auto expect = expectations(disk);
    std::set<std::string> fixed;
    std::istringstream fixup_lines(fixups);
    for (std::string line; std::getline(fixup_lines, line);) {
        auto open = line.find("] ");
        auto colon = line.find(": ", open);
        if (open != std::string::npos && colon != std::string::npos) fixed.insert(line.substr(open + 2, colon - open - 2));
    }
    auto skip = [&](const std::string& path) {
        return fixed.count(path) || path.rfind("/boot/efi/", 0) == 0 ||
               (path.size() >= 11 && path.compare(path.size() - 11, 11, "/lost+found") == 0);
    };
    const auto source = read_manifest(vm_disk(disk) + ".manifest");
    ASSERT_FALSE(source.empty());
    const auto result = manifest_of(image_rootfs(fp));
    Tally want, got;
    std::string differences;
    int shown = 0;
    for (const auto& [path, line] : source) {
        if (skip(path)) continue;
        want.add(line);
        auto it = result.find(path);
        if ((it == result.end() || it->second != line) && shown++ < 10)
            differences += path + ": want " + line + ", got " + (it == result.end() ? "nothing" : it->second) + "\n";
    }
    for (const auto& [path, line] : result) {
        if (skip(path)) continue;
        got.add(line);
        if (!source.count(path) && shown++ < 10) differences += path + ": not in the source\n";
    }
    EXPECT_EQ(differences, "") << disk;
    EXPECT_EQ(got.entries, want.entries) << disk;
    EXPECT_EQ(got.bytes, want.bytes) << disk;

    const auto name = alias + "-c";
    r = lodge({"launch", alias, name, "--wait"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(in(name, {"systemctl", "is-system-running"}).out, "running\n")
        << in(name, {"systemctl", "--failed", "--no-pager"}).out;
    EXPECT_EQ(in(name, {"systemctl", "--failed", "--no-legend", "--plain"}).out, "");
    if (expect.count("home_marker")) {
        EXPECT_EQ(in(name, {"cat", expect.at("home_marker")}).out, expect.at("home_marker_content") + "\n");
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
    lodged_.reset(); // its log goes with it; the next one writes its own
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
    // Asked until systemd answers (it has no bus in the first moments).
    EXPECT_TRUE(wait_until(
        [&] {
            r = on_target({"exec", "mig1", "--", "systemctl", "is-system-running", "--wait"});
            return r.out == "running\n" || r.out == "degraded\n";
        },
        60));
    EXPECT_EQ(r.out, "running\n") << r.err << on_target({"exec", "mig1", "--", "systemctl", "--failed", "--no-pager"}).out;
    EXPECT_EQ(on_target({"exec", "mig1", "--", "cat", "/root/marker"}).out, "migrated\n");
    EXPECT_NE(on_target({"exec", "mig1", "--", "cat", "/etc/machine-id"}).out, "0123456789abcdef0123456789abcdef\n");
    EXPECT_EQ(on_target({"config", "get", "mig1", "image.os"}).out, "Debian GNU/Linux\n");
    ASSERT_EQ(on_target({"delete", "-f", "mig1"}).status, 0);
    stop_all_containers(state2.path());
}

// What a canary file looks like from outside: content, size and times (its
// atime is set in the past, so any read moves it).
std::string canary_state(const std::string& dir) {
    std::string out;
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path());
    for (const auto& path : names) {
        struct stat st{};
        if (::lstat(path.c_str(), &st) != 0) continue;
        // Read without moving the atime the comparison watches.
        int fd = ::open(path.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC);
        const std::string content = fd < 0 ? "" : lodge::read_to_eof(fd);
        if (fd >= 0) ::close(fd);
        out += path + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_atime) + " " +
               std::to_string(st.st_mtime) + " " + lodge::sha256_hex(content) + "\n";
    }
    return out;
}

// Disks that name a host file, or cannot be read, or hold no Linux root:
// each refused with its reason, nothing kept, and the host files they name
// never opened by lodged or any tool it runs.
TEST_F(VmImport, HostileDisksAreRefusedAndTouchNothingOutside) {
    const std::string canary = "/tmp/lodge-vm-canary";
    TempDir disks("lodge-vm-hostile");
    auto made = run({std::string(LODGE_SOURCE_DIR) + "/tests/fixtures/vm-hostile.sh", disks.path(), canary}, "", 300);
    ASSERT_EQ(made.status, 0) << made.err;
    std::vector<std::string> watched;
    for (const auto& e : fs::directory_iterator(canary)) watched.push_back(e.path());
    OpenWatch watch(watched);
    const auto before = canary_state(canary);
    ASSERT_FALSE(before.empty());
    const int own_reads = watch.events(); // canary_state's own opens
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"backing-plain.qcow2", "backing file"}, {"backing-json.qcow2", "backing file"},
        {"datafile.qcow2", "data file"},         {"descriptor.vmdk", "descriptor"},
        {"noroot.raw", "No Linux root"},         {"truncated.qcow2", "truncated"},
        {"huge.qcow2", "above the limit"},
    };
    for (const auto& [disk, reason] : cases) {
        auto r = lodge({"image", "import-vm", disks.path() + "/" + disk, "--alias", "hostile"});
        EXPECT_NE(r.status, 0) << disk << ": " << r.out;
        EXPECT_NE(r.err.find(reason), std::string::npos) << disk << ": " << r.err;
        EXPECT_TRUE(vm_work_empty()) << disk;
    }
    EXPECT_EQ(watch.events(), own_reads);
    EXPECT_EQ(canary_state(canary), before);
    const int own_reads_2 = watch.events();
    EXPECT_EQ(lodge({"image", "list", "--format", "csv"}).out, "");
    EXPECT_TRUE(fs::is_empty(state_.path() + "/storage-pools/default/images"));

    // A root whose fstab, hostname, machine-id and network files are
    // absolute symlinks to host files: every read and fixup stays inside
    // the new root.
    auto r = lodge({"image", "import-vm", vm_disk("symlinks.qcow2"), "--alias", "vm-symlinks"});
    EXPECT_EQ(watch.events(), own_reads_2) << r.out << r.err;
    EXPECT_EQ(canary_state(canary), before);
    if (r.status == 0) {
        const auto fp = fingerprint_of(r);
        // Whatever the fixups made of the links, the host's files are untouched.
        for (const char* f : {"/etc/fstab", "/etc/machine-id", "/etc/hostname"}) {
            std::error_code ec;
            auto target = fs::read_symlink(image_rootfs(fp) + f, ec);
            if (!ec) {
                EXPECT_EQ(target.string().rfind(canary, 0), 0u) << f;
            }
        }
    }
}

} // namespace
} // namespace lodge::test
