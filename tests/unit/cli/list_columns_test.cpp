// `lodge list` columns on LXD's instance JSON: the recorded
// instances-recursion2.json (a running container with only loopback
// addresses) and variations of it with real networks, snapshots, a stopped
// state and an ephemeral type.
#include "cli/error.hpp"
#include "cli/instance_columns.hpp"
#include "tests/unit/cli/reference.hpp"

#include <gtest/gtest.h>

namespace lodge::cli {
namespace {

using nlohmann::json;

json sample() { return test::reference_metadata("instances-recursion2.json"); }

json with_network(json inst) {
    inst["state"]["network"]["eth0"] = {
        {"type", "broadcast"},
        {"addresses",
         json::array({{{"family", "inet"}, {"address", "10.0.0.5"}, {"netmask", "24"}, {"scope", "global"}},
                      {{"family", "inet6"}, {"address", "fd42::5"}, {"netmask", "64"}, {"scope", "global"}},
                      {{"family", "inet6"}, {"address", "fe80::1"}, {"netmask", "64"}, {"scope", "link"}}})}};
    inst["state"]["network"]["eth1"] = {
        {"type", "broadcast"},
        {"addresses", json::array({{{"family", "inet"}, {"address", "10.0.1.7"}, {"scope", "global"}}})}};
    return inst;
}

std::vector<Row> rows(const json& instances, const std::string& spec = default_list_columns) {
    return instance_rows(instances, parse_columns(spec));
}

TEST(CliListColumns, ReferenceInstanceGivesLxcsRow) {
    // lxc list --format csv printed "lxd-sample,RUNNING,,,CONTAINER,0" for
    // this instance: loopback addresses are never listed.
    auto r = rows(sample());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], (Row{"lxd-sample", "RUNNING", "", "", "CONTAINER", "0"}));
    EXPECT_EQ(render_csv(r), "lxd-sample,RUNNING,,,CONTAINER,0\n");
}

TEST(CliListColumns, ReferenceRendersAsLxcTable) {
    auto columns = parse_columns(default_list_columns);
    Row headers;
    for (const auto& c : columns) headers.push_back(c.name);
    EXPECT_EQ(render_boxed(headers, instance_rows(sample(), columns)),
              "+------------+---------+------+------+-----------+-----------+\n"
              "|    NAME    |  STATE  | IPV4 | IPV6 |   TYPE    | SNAPSHOTS |\n"
              "+------------+---------+------+------+-----------+-----------+\n"
              "| lxd-sample | RUNNING |      |      | CONTAINER | 0         |\n"
              "+------------+---------+------+------+-----------+-----------+\n");
}

TEST(CliListColumns, GlobalAddressesPerDeviceInReverseOrder) {
    json list = json::array({with_network(sample()[0])});
    auto r = rows(list, "n46");
    EXPECT_EQ(r[0][1], "10.0.1.7 (eth1)\n10.0.0.5 (eth0)");
    EXPECT_EQ(r[0][2], "fd42::5 (eth0)"); // the link-local fe80:: is left out
}

TEST(CliListColumns, StoppedInstancesShowNoAddressesOrPid) {
    json inst = with_network(sample()[0]);
    inst["status"] = "Stopped";
    inst["status_code"] = 102;
    auto r = rows(json::array({inst}), "ns4p");
    EXPECT_EQ(r[0], (Row{"lxd-sample", "STOPPED", "", ""}));
}

TEST(CliListColumns, TypeSnapshotsAndOtherShorthands) {
    json inst = sample()[0];
    inst["ephemeral"] = true;
    inst["snapshots"] = json::array({json::object(), json::object()});
    inst["type"] = "";
    auto r = rows(json::array({inst}), "tSapPbfN");
    EXPECT_EQ(r[0], (Row{"CONTAINER (EPHEMERAL)", "2", "x86_64", "26040", "default", "default", "43c574ce0279", "5"}));
}

TEST(CliListColumns, ConfigAndDeviceKeyColumns) {
    json inst = sample()[0];
    inst["config"]["user.role"] = "database-primary";
    auto columns = parse_columns("n,user.role,config:image.os:OS,user.role:ROLE:4,devices:root.pool");
    ASSERT_EQ(columns.size(), 5u);
    EXPECT_EQ(columns[1].name, "user.role");
    EXPECT_EQ(columns[2].name, "OS");
    auto r = instance_rows(json::array({inst}), columns);
    EXPECT_EQ(r[0], (Row{"lxd-sample", "database-primary", "debian", "data", "default"}));
}

TEST(CliListColumns, BadColumnSpecsAreRefusedLikeLxc) {
    auto message = [](const std::string& spec) {
        try {
            parse_columns(spec);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(message("nsx"), "Unknown column shorthand char 'x' in 'nsx'");
    EXPECT_EQ(message("nL"), "Can't specify column L when not clustered");
    EXPECT_EQ(message("n,,s"), "Empty column entry (redundant, leading or trailing command) in 'n,,s'");
    EXPECT_EQ(message("user.a:b:c:d"), "Invalid config key column format (too many fields): 'user.a:b:c:d'");
    EXPECT_EQ(parse_columns(default_list_columns).size(), 6u); // L dropped: lodge is not clustered
}

TEST(CliListColumns, FiltersByNamePrefixAndConfig) {
    json inst = sample()[0];
    EXPECT_TRUE(instance_matches(inst, {}));
    EXPECT_TRUE(instance_matches(inst, {"lxd-"}));
    EXPECT_FALSE(instance_matches(inst, {"web"}));
    EXPECT_TRUE(instance_matches(inst, {"image.os=debian"}));
    EXPECT_FALSE(instance_matches(inst, {"image.os=alpine"}));
    EXPECT_TRUE(instance_matches(inst, {"status=running"}));
}

TEST(CliListColumns, SortsRowsByName) {
    json a = sample()[0], b = sample()[0], c = sample()[0];
    a["name"] = "web10";
    b["name"] = "web2";
    c["name"] = "db";
    auto r = rows(json::array({a, b, c}), "n");
    EXPECT_EQ(r, (std::vector<Row>{{"db"}, {"web2"}, {"web10"}}));
}

TEST(CliListColumns, YamlOfInstancesKeepsLxdsFieldOrder) {
    auto text = render_table("yaml", {}, {}, sample(), instance_key_order());
    EXPECT_EQ(text.rfind("- architecture: x86_64\n  config:\n", 0), 0u) << text.substr(0, 200);
    EXPECT_LT(text.find("\n  name: lxd-sample\n"), text.find("\n  state:\n"));
    EXPECT_NE(text.find("\n    status: Running\n    status_code: 103\n"), std::string::npos);
}

} // namespace
} // namespace lodge::cli
