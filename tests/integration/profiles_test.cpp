// Config that lodged turns into kernel state: isolated id ranges that never
// overlap and survive restarts, limits changed on running instances, and the
// host's boot and shutdown (autostart order, clean stops in priority order).
// Driven through LXD's `lxc` and the API against a real lodged.
#include "tests/integration/lxc_session.hpp"

#include "common/file.hpp"
#include "runtime/cgroup.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <sys/stat.h>
#include <unistd.h>

namespace lodge::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class InstanceConfig : public LxcSession {
protected:
    InstanceConfig() : LxcSession("lodge-prof") {}

    void launch(const std::string& name, const std::vector<std::string>& config = {}) {
        if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
        std::vector<std::string> args{"launch", "bb", name};
        for (const auto& c : config) {
            args.push_back("-c");
            args.push_back(c);
        }
        auto r = lxc(args);
        ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    }

    json instance(const std::string& name) {
        return lodged_->request("GET", "/1.0/instances/" + name).json()["metadata"];
    }

    pid_t init_pid(const std::string& name) {
        return lodged_->request("GET", "/1.0/instances/" + name + "/state").json()["metadata"]["pid"].get<pid_t>();
    }

    // The first host uid of init's map (the host id of the container's root).
    std::pair<uint64_t, uint64_t> root_range(pid_t pid) {
        std::istringstream map(read_file("/proc/" + std::to_string(pid) + "/uid_map"));
        uint64_t inside = 0, host = 0, count = 0;
        map >> inside >> host >> count;
        EXPECT_EQ(inside, 0u);
        return {host, count};
    }

    // The v1 memory limit (or v2 memory.max) of the instance's cgroup.
    std::string memory_limit(const std::string& name) {
        for (const auto& dir : runtime::open_cgroup(name)->paths()) {
            std::error_code ec;
            if (fs::exists(dir + "/memory.limit_in_bytes", ec)) return trim(read_file(dir + "/memory.limit_in_bytes"));
            if (fs::exists(dir + "/memory.max", ec)) return trim(read_file(dir + "/memory.max"));
        }
        return "";
    }

    // A file of the v1 memory controller's directory ("" without one).
    std::string memory_file(const std::string& name, const std::string& file) {
        for (const auto& dir : runtime::open_cgroup(name)->paths())
            if (fs::exists(dir + "/" + file)) return trim(read_file(dir + "/" + file));
        return "";
    }

    static std::string trim(std::string s) {
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s;
    }

    void restart_lodged() {
        lodged_->stop();
        lodged_ = std::make_unique<Lodged>(state_.path());
    }
};

TEST_F(InstanceConfig, IsolatedIdRangesAreDisjointAndPersist) {
    launch("pr-shared");
    launch("pr-iso1", {"security.idmap.isolated=true"});
    launch("pr-iso2", {"security.idmap.isolated=true"});
    const auto shared = root_range(init_pid("pr-shared"));
    const auto a = root_range(init_pid("pr-iso1"));
    const auto b = root_range(init_pid("pr-iso2"));
    auto disjoint = [](std::pair<uint64_t, uint64_t> x, std::pair<uint64_t, uint64_t> y) {
        return x.first + x.second <= y.first || y.first + y.second <= x.first;
    };
    EXPECT_TRUE(disjoint(a, b)) << a.first << " " << b.first;
    EXPECT_TRUE(disjoint(a, shared)) << a.first << " " << shared.first;
    EXPECT_TRUE(disjoint(b, shared)) << b.first << " " << shared.first;
    EXPECT_EQ(instance("pr-iso1")["config"]["volatile.idmap.base"], std::to_string(a.first));
    EXPECT_NE(instance("pr-iso1")["config"]["volatile.idmap.current"].get<std::string>().find(
                  "\"Hostid\":" + std::to_string(a.first)),
              std::string::npos);
    // Files the guest makes are its own ids, whatever the host range.
    auto r = lxc({"exec", "pr-iso1", "--", "sh", "-c", "touch /root/mine && stat -c %u:%g /root/mine"});
    EXPECT_EQ(r.out, "0:0\n") << r.err;

    // The same ranges after a restart of the instance and of lodged.
    ASSERT_EQ(lxc({"restart", "-f", "pr-iso1"}).status, 0) << lodged_->log();
    EXPECT_EQ(root_range(init_pid("pr-iso1")), a);
    restart_lodged();
    ASSERT_EQ(lxc({"stop", "-f", "pr-iso2"}).status, 0) << lodged_->log();
    ASSERT_EQ(lxc({"start", "pr-iso2"}).status, 0) << lodged_->log();
    EXPECT_EQ(root_range(init_pid("pr-iso2")), b);
    EXPECT_EQ(root_range(init_pid("pr-iso1")), a);

    // A copy gets a range of its own, not its source's.
    ASSERT_EQ(lxc({"copy", "pr-iso1", "pr-iso3"}).status, 0) << lodged_->log();
    ASSERT_EQ(lxc({"start", "pr-iso3"}).status, 0) << lodged_->log();
    const auto c = root_range(init_pid("pr-iso3"));
    EXPECT_TRUE(disjoint(c, a) && disjoint(c, b) && disjoint(c, shared)) << c.first;
}

TEST_F(InstanceConfig, RawIdmapMapsHostIdsThrough) {
    TempDir shared("lodge-prof-raw");
    ASSERT_EQ(::chown(shared.path().c_str(), 1234, 1234), 0);
    launch("pr-raw", {"raw.idmap=both 1234 1000"});
    // shift=false: a plain bind, seen through the instance's own map.
    ASSERT_EQ(lxc({"config", "device", "add", "pr-raw", "data", "disk", "source=" + shared.path(), "path=/mnt/data",
                   "shift=false"})
                  .status,
              0)
        << lodged_->log();
    auto r = lxc({"exec", "pr-raw", "--", "stat", "-c", "%u:%g", "/mnt/data"});
    // Host 1234 is container 1000: the raw entry, not the range's 1234.
    EXPECT_EQ(r.out, "1000:1000\n") << r.err << lodged_->log();
}

// A host directory as a disk: idmapped, so the host's owners show inside
// as the same ids, and nothing on the host is chowned.
TEST_F(InstanceConfig, HostDirectoryDiskKeepsHostOwners) {
    TempDir shared("lodge-prof-disk");
    const auto file = shared.path() + "/owned";
    std::ofstream(file) << "data\n";
    ASSERT_EQ(::chown(file.c_str(), 1000, 1000), 0);
    launch("pr-disk");
    auto r = lxc({"config", "device", "add", "pr-disk", "data", "disk", "source=" + shared.path(), "path=/mnt/data"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    // Hot-plugged into the running instance.
    r = lxc({"exec", "pr-disk", "--", "sh", "-c", "stat -c %u:%g /mnt/data/owned && cat /mnt/data/owned"});
    EXPECT_EQ(r.out, "1000:1000\ndata\n") << r.err << lodged_->log();
    // And there after a restart too.
    ASSERT_EQ(lxc({"restart", "-f", "pr-disk"}).status, 0) << lodged_->log();
    r = lxc({"exec", "pr-disk", "--", "sh", "-c", "stat -c %u:%g /mnt/data/owned"});
    EXPECT_EQ(r.out, "1000:1000\n") << r.err << lodged_->log();
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1000u);
    // A source that is not a directory is refused, naming the device, and
    // not kept.
    r = lxc({"config", "device", "add", "pr-disk", "gone", "disk", "source=/nonexistent/dir", "path=/mnt/gone"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("\"gone\""), std::string::npos) << r.err;
    EXPECT_FALSE(instance("pr-disk")["devices"].contains("gone"));
    // Removed from the running instance.
    ASSERT_EQ(lxc({"config", "device", "remove", "pr-disk", "data"}).status, 0) << lodged_->log();
    r = lxc({"exec", "pr-disk", "--", "sh", "-c", "test -e /mnt/data/owned || echo unmounted"});
    EXPECT_EQ(r.out, "unmounted\n") << r.err;
    EXPECT_TRUE(fs::exists(file));
}

// A unix-char device hot-plugged into a running instance is usable inside
// and gone after its removal.
TEST_F(InstanceConfig, UnixCharDeviceHotPlug) {
    if (!fs::exists("/dev/net/tun")) GTEST_SKIP() << "no /dev/net/tun on this host";
    launch("pr-dev");
    const std::string open_tun = "exec 3<>/dev/net/tun && echo opened";
    auto r = lxc({"exec", "pr-dev", "--", "sh", "-c", open_tun});
    EXPECT_NE(r.out, "opened\n") << "tun usable before it was added";
    r = lxc({"config", "device", "add", "pr-dev", "tun", "unix-char", "source=/dev/net/tun", "path=/dev/net/tun"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    r = lxc({"exec", "pr-dev", "--", "sh", "-c", open_tun});
    EXPECT_EQ(r.out, "opened\n") << r.err << lodged_->log();
    ASSERT_EQ(lxc({"config", "device", "remove", "pr-dev", "tun"}).status, 0) << lodged_->log();
    r = lxc({"exec", "pr-dev", "--", "sh", "-c", "test -e /dev/net/tun || echo gone"});
    EXPECT_EQ(r.out, "gone\n") << r.err;
    // A device that does not exist on the host is refused and not kept.
    r = lxc({"config", "device", "add", "pr-dev", "ghost", "unix-char", "source=/dev/no-such-device"});
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(instance("pr-dev")["devices"].contains("ghost"));
}

// Two profiles and local config stack in order; a profile in use cannot
// be deleted; a profile's new memory limit reaches the running instance.
TEST_F(InstanceConfig, ProfileStackingAndLiveProfileLimits) {
    ASSERT_EQ(lxc({"profile", "create", "pr-base"}).status, 0);
    ASSERT_EQ(lxc({"profile", "create", "pr-web"}).status, 0);
    for (auto [profile, key, value] : {std::tuple{"pr-base", "limits.memory", "512MiB"},
                                       {"pr-base", "limits.processes", "300"},
                                       {"pr-base", "user.tier", "base"},
                                       {"pr-web", "limits.memory", "256MiB"},
                                       {"pr-web", "user.tier", "web"}})
        ASSERT_EQ(lxc({"profile", "set", profile, key, value}).status, 0) << profile << " " << key;
    if (lxc({"image", "info", "bb"}).status != 0) import(busybox_image_tarball(), "bb");
    auto r = lxc({"launch", "bb", "pr-stack", "-p", "default", "-p", "pr-base", "-p", "pr-web", "-c", "user.tier=local"});
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    const auto i = instance("pr-stack");
    EXPECT_EQ(i["expanded_config"]["limits.memory"], "256MiB");  // pr-web over pr-base
    EXPECT_EQ(i["expanded_config"]["limits.processes"], "300");  // pr-base only
    EXPECT_EQ(i["expanded_config"]["user.tier"], "local");       // the instance over both
    EXPECT_EQ(i["config"].value("limits.memory", ""), "");       // not the instance's own
    EXPECT_EQ(i["expanded_devices"]["root"]["pool"], "default"); // from default
    EXPECT_EQ(memory_limit("pr-stack"), std::to_string(256ull << 20));

    r = lxc({"profile", "delete", "pr-web"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("pr-stack"), std::string::npos) << r.err;

    ASSERT_EQ(lxc({"profile", "set", "pr-web", "limits.memory", "192MiB"}).status, 0) << lodged_->log();
    EXPECT_EQ(memory_limit("pr-stack"), std::to_string(192ull << 20));
    ASSERT_EQ(lxc({"profile", "unset", "pr-web", "limits.memory"}).status, 0) << lodged_->log();
    EXPECT_EQ(memory_limit("pr-stack"), std::to_string(512ull << 20)); // pr-base's again
}

TEST_F(InstanceConfig, LimitsChangeOnARunningInstance) {
    launch("pr-lim");
    ASSERT_EQ(lxc({"config", "set", "pr-lim", "limits.memory", "256MiB"}).status, 0) << lodged_->log();
    EXPECT_EQ(memory_limit("pr-lim"), std::to_string(256ull << 20));
    // A key that needs a restart says so (lodge's answer), and is stored.
    auto r = lodged_->request("PATCH", "/1.0/instances/pr-lim", R"({"config": {"security.idmap.isolated": "true"}})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["metadata"]["restart_required"], json::array({"pr-lim"})) << r.body;
    r = lodged_->request("PATCH", "/1.0/instances/pr-lim", R"({"config": {"limits.memory": "128MiB"}})");
    EXPECT_EQ(memory_limit("pr-lim"), std::to_string(128ull << 20));
    // enforce=soft: no hard cap, a soft limit instead; unset again: hard.
    ASSERT_EQ(lxc({"config", "set", "pr-lim", "limits.memory.enforce", "soft"}).status, 0) << lodged_->log();
    EXPECT_EQ(memory_limit("pr-lim"), "9223372036854771712");
    EXPECT_EQ(memory_file("pr-lim", "memory.soft_limit_in_bytes"), std::to_string(128ull << 20));
    ASSERT_EQ(lxc({"config", "unset", "pr-lim", "limits.memory.enforce"}).status, 0) << lodged_->log();
    EXPECT_EQ(memory_limit("pr-lim"), std::to_string(128ull << 20));
    EXPECT_EQ(memory_file("pr-lim", "memory.soft_limit_in_bytes"), "9223372036854771712");
    // A bad value changes nothing.
    r = lodged_->request("PATCH", "/1.0/instances/pr-lim", R"({"config": {"limits.memory": "lots"}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(memory_limit("pr-lim"), std::to_string(128ull << 20));
    auto typo = lxc({"config", "set", "pr-lim", "limits.memroy", "1GiB"});
    EXPECT_NE(typo.status, 0);
    EXPECT_NE(typo.err.find("did you mean limits.memory"), std::string::npos) << typo.err;
}

// The hardened baseline in the kernel: its extra syscalls fail with EPERM
// inside, while a privileged instance without it reaches them; once the
// privileged instance carries hardened, lodge audit names what weakens it.
TEST_F(InstanceConfig, HardenedDeniesSyscallsAndAuditFindsWeakening) {
    launch("pr-hard", {});
    ASSERT_EQ(lxc({"profile", "add", "pr-hard", "hardened"}).status, 0) << lodged_->log();
    ASSERT_EQ(lxc({"restart", "-f", "pr-hard"}).status, 0) << lodged_->log();
    launch("pr-priv", {"security.privileged=true"});
    for (const char* name : {"pr-hard", "pr-priv"}) {
        auto r = lxc({"file", "push", LODGE_PROBE, std::string(name) + "/lodge-probe", "--mode", "0755"});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    for (const char* call : {"bpf", "perf_event_open", "userfaultfd", "keyctl"}) {
        auto hard = lxc({"exec", "pr-hard", "--", "/lodge-probe", call});
        EXPECT_EQ(hard.status, 1) << call << ": " << hard.out << hard.err;
        EXPECT_NE(hard.out.find("Operation not permitted"), std::string::npos) << call << ": " << hard.out;
        auto priv = lxc({"exec", "pr-priv", "--", "/lodge-probe", call});
        EXPECT_EQ(priv.status, 0) << call << ": " << priv.out << priv.err;
    }
    // Personas other than Linux's are refused under hardened.
    auto persona = lxc({"exec", "pr-hard", "--", "/lodge-probe", "personality", "0x0400000"});
    EXPECT_EQ(persona.status, 1) << persona.out << persona.err;

    // Clean: nothing weakens hardened, and the kernel matches the config.
    auto audit = lodge({"audit", "pr-hard"});
    EXPECT_EQ(audit.status, 0) << audit.out << audit.err;
    EXPECT_EQ(audit.out, "No deviations in 1 instance\n");

    // The privileged instance takes hardened on: its local
    // security.privileged=true weakens it.
    ASSERT_EQ(lxc({"profile", "add", "pr-priv", "hardened"}).status, 0) << lodged_->log();
    audit = lodge({"audit", "pr-priv", "--format", "json"});
    EXPECT_EQ(audit.status, 1) << audit.out << audit.err;
    const auto report = json::parse(audit.out).at(0);
    EXPECT_EQ(report["baselines"], json::array({"hardened"}));
    bool privileged_found = false;
    for (const auto& f : report["findings"])
        if (f["check"] == "security.privileged") {
            privileged_found = true;
            EXPECT_EQ(f["kind"], "config");
            EXPECT_EQ(f["expected"], "false");
            EXPECT_EQ(f["actual"], "true");
            EXPECT_EQ(f["source"], "instance");
        }
    EXPECT_TRUE(privileged_found) << report.dump(2);
    // The table names it too, and the whole audit fails.
    audit = lodge({"audit"});
    EXPECT_EQ(audit.status, 1);
    EXPECT_NE(audit.out.find("security.privileged"), std::string::npos) << audit.out;
}

// Drift no config can show: a memory limit written straight into the
// cgroup from the host is reported with the expected and actual values.
TEST_F(InstanceConfig, AuditFindsKernelDrift) {
    launch("pr-drift", {"limits.memory=256MiB"});
    auto audit = lodge({"audit", "pr-drift"});
    EXPECT_EQ(audit.status, 0) << audit.out << audit.err;
    std::string file;
    for (const auto& dir : runtime::open_cgroup("pr-drift")->paths())
        for (const char* f : {"memory.limit_in_bytes", "memory.max"})
            if (file.empty() && fs::exists(dir + "/" + f)) file = dir + "/" + f;
    ASSERT_FALSE(file.empty());
    write_file(file, std::to_string(512ull << 20));
    audit = lodge({"audit", "pr-drift", "--format", "json"});
    EXPECT_EQ(audit.status, 1) << audit.out;
    const auto findings = json::parse(audit.out).at(0)["findings"];
    ASSERT_EQ(findings.size(), 1u) << findings.dump(2);
    EXPECT_EQ(findings[0]["kind"], "kernel");
    EXPECT_EQ(findings[0]["check"], "limits.memory");
    EXPECT_EQ(findings[0]["expected"], std::to_string(256ull << 20));
    EXPECT_EQ(findings[0]["actual"], std::to_string(512ull << 20));
    // Setting it again through the config puts it right.
    ASSERT_EQ(lxc({"config", "set", "pr-drift", "limits.memory", "128MiB"}).status, 0);
    EXPECT_EQ(lodge({"audit", "pr-drift"}).status, 0);
}

// The host's boot and shutdown, as lodged sees them: a start with a new boot
// id starts what boot.autostart asks for, highest priority first; `lodged
// shutdown` stops the running instances in boot.stop.priority order and the
// ones that ran come back at the next boot.
TEST_F(InstanceConfig, AutostartAfterBootAndCleanStopsAtShutdown) {
    launch("pr-low", {"boot.autostart=true", "boot.autostart.priority=1", "boot.stop.priority=1"});
    launch("pr-high", {"boot.autostart=true", "boot.autostart.priority=3", "boot.autostart.delay=1",
                       "boot.stop.priority=3"});
    launch("pr-mid", {"boot.autostart.priority=2", "boot.stop.priority=2"}); // follows its last state
    launch("pr-never", {"boot.autostart=false"});

    // The host shuts down.
    auto r = run({bin("lodged"), "shutdown", "--state-dir", state_.path()}, "", 120);
    ASSERT_EQ(r.status, 0) << r.err << lodged_->log();
    EXPECT_EQ(lodged_->stop(SIGTERM, 20), 0) << lodged_->log();
    const auto log = lodged_->log();
    const auto high = log.find("instance pr-high: stopped for the host's shutdown");
    const auto mid = log.find("instance pr-mid: stopped for the host's shutdown");
    const auto low = log.find("instance pr-low: stopped for the host's shutdown");
    ASSERT_NE(high, std::string::npos) << log;
    ASSERT_NE(mid, std::string::npos) << log;
    ASSERT_NE(low, std::string::npos) << log;
    EXPECT_LT(high, mid);
    EXPECT_LT(mid, low);
    for (const char* name : {"pr-low", "pr-high", "pr-mid", "pr-never"}) {
        const auto exit = json::parse(read_file(state_.path() + "/run/" + name + "/exit.json"));
        EXPECT_FALSE(exit.value("forced", true)) << name << ": " << exit.dump();
    }

    // lodged again without a boot in between: nothing starts.
    lodged_ = std::make_unique<Lodged>(state_.path());
    EXPECT_EQ(lxc({"list", "--format", "csv", "-c", "ns"}).out,
              "pr-high,STOPPED\npr-low,STOPPED\npr-mid,STOPPED\npr-never,STOPPED\n");

    // The host boots: lodged sees a boot id it has not run under.
    lodged_->stop();
    fs::remove(state_.path() + "/boot_id");
    lodged_ = std::make_unique<Lodged>(state_.path());
    ASSERT_TRUE(wait_until([&] { return lxc({"list", "--format", "csv", "-c", "ns"}).out ==
                                        "pr-high,RUNNING\npr-low,RUNNING\npr-mid,RUNNING\npr-never,STOPPED\n"; },
                           30))
        << lxc({"list"}).out << lodged_->log();
    // Started in priority order: high, then (a second later) mid, then low.
    auto started = [&](const std::string& name) {
        std::istringstream stat(read_file("/proc/" + std::to_string(init_pid(name)) + "/stat"));
        std::string field;
        for (int i = 0; i < 22 && stat >> field; ++i) {
        }
        return std::stoull(field); // starttime, in clock ticks since boot
    };
    EXPECT_LT(started("pr-high"), started("pr-mid"));
    EXPECT_LE(started("pr-mid"), started("pr-low"));
}

} // namespace
} // namespace lodge::test
