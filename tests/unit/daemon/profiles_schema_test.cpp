// The config schema key by key (each with a value it takes and one it
// refuses), suggestions for misspelt keys, device checks, raw.idmap, id
// range allocation and the baseline rules.
#include "common/error.hpp"
#include "profiles/baseline.hpp"
#include "profiles/schema.hpp"
#include "profiles/values.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

namespace lodge::daemon {
namespace {

struct KeyCase {
    const char* key;
    const char* good;
    const char* bad;
};

// One valid and one invalid value for every key of the schema.
const KeyCase key_cases[] = {
    {"boot.autostart", "true", "yes"},
    {"boot.autostart.delay", "5", "5s"},
    {"boot.autostart.priority", "10", "-1"},
    {"boot.host_shutdown_timeout", "30", "half a minute"},
    {"boot.stop.priority", "3", "high"},
    {"limits.cpu", "0-1,3", "two"},
    {"limits.cpu.allowance", "25ms/100ms", "25/100"},
    {"limits.cpu.priority", "10", "11"},
    {"limits.memory", "512MiB", "lots"},
    {"limits.memory.swap", "false", "none"},
    {"limits.memory.enforce", "hard", "strict"},
    {"limits.processes", "500", "-1"},
    {"security.privileged", "false", "maybe"},
    {"security.nesting", "false", "true"},
    {"security.idmap.isolated", "true", "on"},
    {"security.idmap.size", "65536", "64k"},
    {"security.idmap.base", "1065536", "base"},
    {"security.syscalls.deny", "bpf\nkeyctl", "bpf\nnot_a_syscall"},
    {"security.syscalls.deny_default", "true", "always"},
    {"security.syscalls.deny_compat", "true", "x"},
    {"security.syscalls.allow", "read,write", "read,frobnicate"},
    {"security.protection.delete", "true", "please"},
    {"raw.idmap", "both 1000 1000", "uid 1000"},
    {"linux.init", "/sbin/init", "sbin/init"},
    {"linux.halt_signal", "SIGRTMIN+3", "SIGNOPE"},
    {"snapshots.schedule", "@daily", "every day"},
    {"snapshots.schedule.stopped", "false", "sometimes"},
    {"snapshots.pattern", "snap%d", "a/b"},
    {"snapshots.expiry", "2w", "soon"},
    {"cloud-init.user-data", "#cloud-config", nullptr},
    {"cloud-init.vendor-data", "#cloud-config", nullptr},
    {"cloud-init.network-config", "version: 2", nullptr},
    {"lodge.baseline", "true", "yes please"},
    {"lodge.security.caps.drop", "sys_ptrace,net_raw", "sys_ptrace,superpowers"},
    {"lodge.security.personality", "linux", "bsd"},
};

TEST(ConfigSchema, EveryKeyTakesAValidValueAndRefusesAnInvalidOne) {
    std::set<std::string> covered;
    for (const auto& c : key_cases) {
        covered.insert(c.key);
        EXPECT_NO_THROW(profiles::validate_config({{c.key, c.good}}, profiles::ConfigScope::instance)) << c.key << "=" << c.good;
        if (!c.bad) continue; // free text (cloud-init documents): no value is invalid
        try {
            profiles::validate_config({{c.key, c.bad}}, profiles::ConfigScope::instance);
            ADD_FAILURE() << c.key << "=" << c.bad << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400);
            EXPECT_NE(std::string(e.what()).find(c.key), std::string::npos) << e.what();
        }
    }
    for (const auto& key : profiles::schema_keys()) EXPECT_TRUE(covered.count(key)) << key << " has no test case";
}

TEST(ConfigSchema, FreeFormNamespacesAndScopes) {
    EXPECT_NO_THROW(profiles::validate_config({{"user.anything", "x"}, {"environment.FOO", "bar"}, {"image.os", "debian"},
                                     {"volatile.uuid", "u"}},
                                    profiles::ConfigScope::instance));
    EXPECT_NO_THROW(profiles::validate_config({{"user.anything", "x"}, {"environment.FOO", "bar"}}, profiles::ConfigScope::profile));
    EXPECT_THROW(profiles::validate_config({{"volatile.uuid", "u"}}, profiles::ConfigScope::profile), Error);
    EXPECT_THROW(profiles::validate_config({{"image.os", "debian"}}, profiles::ConfigScope::profile), Error);
    EXPECT_THROW(profiles::validate_config({{"user.", "x"}}, profiles::ConfigScope::instance), Error);
}

TEST(ConfigSchema, SuggestsTheNearestKey) {
    try {
        profiles::validate_config({{"limits.memroy", "1GiB"}}, profiles::ConfigScope::instance);
        FAIL() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("did you mean limits.memory"), std::string::npos) << e.what();
    }
    EXPECT_EQ(profiles::nearest_key("security.privilegd"), "security.privileged");
    EXPECT_EQ(profiles::nearest_key("boot.autostrat"), "boot.autostart");
    EXPECT_EQ(profiles::nearest_key("completely.different"), "");
}

TEST(ConfigSchema, LiveAndRestartKeys) {
    EXPECT_TRUE(profiles::applies_live("limits.memory"));
    EXPECT_TRUE(profiles::applies_live("user.note"));
    EXPECT_FALSE(profiles::applies_live("security.privileged"));
    EXPECT_FALSE(profiles::applies_live("raw.idmap"));
}

TEST(DeviceSchema, ChecksTypesAndKeys) {
    EXPECT_NO_THROW(profiles::validate_devices({{"root", {{"type", "disk"}, {"path", "/"}, {"pool", "default"}}},
                                      {"data", {{"type", "disk"}, {"source", "/srv/data"}, {"path", "/mnt/data"},
                                                {"readonly", "true"}}},
                                      {"vol", {{"type", "disk"}, {"pool", "default"}, {"source", "v1"}, {"path", "/v"}}},
                                      {"null2", {{"type", "unix-char"}, {"source", "/dev/null"}, {"path", "/dev/n2"}}},
                                      {"blk", {{"type", "unix-block"}, {"path", "/dev/b"}, {"major", "7"}, {"minor", "0"}}},
                                      {"eth0", {{"type", "none"}}}}));
    const std::vector<api::DeviceMap> bad = {
        {{"d", {{"path", "/x"}}}},                                                        // no type
        {{"d", {{"type", "gpu"}}}},                                                        // unknown type
        {{"d", {{"type", "disk"}, {"source", "/srv"}}}},                                   // no path
        {{"d", {{"type", "disk"}, {"source", "srv"}, {"path", "/x"}}}},                    // relative host path
        {{"d", {{"type", "disk"}, {"source", "/srv"}, {"path", "/x/../../etc"}}}},         // ..
        {{"d", {{"type", "disk"}, {"source", "/srv"}, {"path", "/x"}, {"readonly", "y"}}}}, // bad bool
        {{"d", {{"type", "disk"}, {"source", "/srv"}, {"path", "/x"}, {"size", "1GiB"}}}}, // size off root
        {{"d", {{"type", "disk"}, {"source", "/srv"}, {"path", "/x"}, {"colour", "red"}}}}, // unknown key
        {{"d", {{"type", "unix-char"}}}},                                                  // neither source nor path
        {{"d", {{"type", "unix-char"}, {"path", "/dev/x"}, {"major", "one"}}}},            // bad number
        {{"d", {{"type", "unix-char"}, {"path", "/dev/x"}, {"mode", "0999"}}}},            // bad mode
        {{"d", {{"type", "nic"}, {"nictype", "bridged"}}}},                                // with networks
        {{"a/b", {{"type", "none"}}}},                                                     // bad name
    };
    for (const auto& devices : bad) {
        try {
            profiles::validate_devices(devices);
            ADD_FAILURE() << nlohmann::json(devices).dump() << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.status(), 400) << e.what();
        }
    }
}

TEST(RawIdmap, ParsesAndPunchesThrough) {
    const auto entries = profiles::parse_raw_idmap("uid 1000 1000\ngid 50-52 100-102\nboth 2000 0\n");
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_TRUE(entries[1].gid && !entries[1].uid);
    EXPECT_EQ(entries[1].count, 3u);
    EXPECT_THROW(profiles::parse_raw_idmap("uid 1000"), Error);
    EXPECT_THROW(profiles::parse_raw_idmap("uid 1-3 1-2"), Error);
    EXPECT_THROW(profiles::parse_raw_idmap("user 1 1"), Error);

    TempDir etc;
    std::ofstream(etc.path() + "/subuid") << "root:1000000:65536\nroot:2000000:1000000\n";
    std::ofstream(etc.path() + "/subgid") << "root:1000000:65536\nroot:2000000:1000000\n";
    const auto map = profiles::instance_idmap({{"raw.idmap", "both 1000 1000"}}, etc.path());
    EXPECT_EQ(map.uid_map_text(), "0 1000000 1000\n1000 1000 1\n1001 1001001 64535\n");
    EXPECT_EQ(map.host_uid(1000), 1000);
    EXPECT_EQ(map.host_uid(1001), 1001001);
    EXPECT_THROW(profiles::instance_idmap({{"raw.idmap", "uid 1000005 5"}}, etc.path()), Error);

    const auto isolated = profiles::instance_idmap({{"security.idmap.isolated", "true"}, {"volatile.idmap.base", "2065536"}},
                                         etc.path());
    EXPECT_EQ(isolated.uid_map_text(), "0 2065536 65536\n");
    EXPECT_EQ(profiles::idmap_blocks(profiles::idmap_json(isolated)).size(), 2u);
    EXPECT_EQ(profiles::idmap_blocks(profiles::idmap_json(isolated))[0].host, 2065536u);
}

TEST(IsolatedIdmap, AllocatesDisjointRanges) {
    TempDir etc;
    std::ofstream(etc.path() + "/subuid") << "root:1000000:65536\nroot:2000000:200000\n";
    std::ofstream(etc.path() + "/subgid") << "root:1000000:65536\nroot:2000000:200000\n";
    std::vector<profiles::IdBlock> taken{{1000000, 65536}};
    const auto a = profiles::allocate_isolated_base(65536, taken, etc.path());
    EXPECT_EQ(a, 2000000u);
    taken.push_back({a, 65536});
    const auto b = profiles::allocate_isolated_base(65536, taken, etc.path());
    EXPECT_EQ(b, 2065536u);
    taken.push_back({b, 65536});
    const auto c = profiles::allocate_isolated_base(65536, taken, etc.path());
    EXPECT_EQ(c, 2131072u);
    taken.push_back({c, 65536});
    try {
        profiles::allocate_isolated_base(65536, taken, etc.path());
        FAIL() << "allocated past root's ranges";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), 507);
    }
}

TEST(Baseline, ReportsWeakerSettingsAndTheirSource) {
    api::Profile def;
    def.name = "default";
    api::Profile hardened;
    hardened.name = "hardened";
    hardened.config = {{"lodge.baseline", "true"},
                       {"security.privileged", "false"},
                       {"security.idmap.isolated", "true"},
                       {"security.syscalls.deny", "bpf\nkeyctl"},
                       {"limits.memory", "1GiB"},
                       {"limits.processes", "100"},
                       {"limits.cpu.allowance", "100ms/100ms"}};
    const std::vector<api::Profile> profiles{def, hardened};
    auto expanded = hardened.config;
    EXPECT_TRUE(profiles::baseline_drift(expanded, {}, {}, profiles).empty());

    // Tighter is fine.
    api::ConfigMap tighter{{"limits.memory", "512MiB"}, {"security.syscalls.deny", "bpf\nkeyctl\nptrace"},
                           {"limits.cpu.allowance", "50ms/100ms"}};
    auto e2 = expanded;
    for (const auto& [k, v] : tighter) e2[k] = v;
    EXPECT_TRUE(profiles::baseline_drift(e2, {}, tighter, profiles).empty());

    api::ConfigMap weaker{{"security.privileged", "true"}, {"security.syscalls.deny", "bpf"},
                          {"limits.memory", "4GiB"}, {"limits.cpu.allowance", "200ms/100ms"}};
    auto e3 = expanded;
    for (const auto& [k, v] : weaker) e3[k] = v;
    e3.erase("limits.processes");
    const auto findings = profiles::baseline_drift(e3, {}, weaker, profiles);
    std::set<std::string> keys;
    for (const auto& f : findings) {
        keys.insert(f.check);
        EXPECT_EQ(f.kind, "config");
        if (f.check == "security.privileged") {
            EXPECT_EQ(f.source, "instance");
            EXPECT_EQ(f.expected, "false");
            EXPECT_EQ(f.actual, "true");
        }
        if (f.check == "security.syscalls.deny") {
            EXPECT_NE(f.message.find("keyctl"), std::string::npos);
        }
    }
    EXPECT_EQ(keys, (std::set<std::string>{"security.privileged", "security.syscalls.deny", "limits.memory",
                                           "limits.cpu.allowance", "limits.processes"}));
    // Not a baseline: nothing to report.
    hardened.config.erase("lodge.baseline");
    EXPECT_TRUE(profiles::baseline_drift(e3, {}, weaker, {def, hardened}).empty());
}

} // namespace
} // namespace lodge::daemon
