// `lodge network`: lxc 5.0.2's tables, info layout and YAML from LXD's
// recorded responses, the NIC devices attach adds and detach removes, and
// a few verbs run end to end against a canned server.
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/network_output.hpp"
#include "tests/unit/cli/canned_server.hpp"
#include "tests/unit/cli/reference.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace lodge::cli {
namespace {

using nlohmann::json;

std::string reference_text(const std::string& name) {
    std::ifstream in(std::string(LODGE_SOURCE_DIR) + "/../shared/reference/lxd-5.0.2/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The network of network/network-show.yaml as the server sends it (used_by
// in the server's order), with unmanaged interfaces around it.
json lodgetest0() {
    return json::parse(R"({"config": {"ipv4.address": "10.123.0.1/24", "ipv4.nat": "true", "ipv6.address": "none"},
        "description": "", "name": "lodgetest0", "type": "bridge",
        "used_by": ["/1.0/profiles/default", "/1.0/instances/net-b", "/1.0/instances/net-a"],
        "managed": true, "status": "Created", "locations": ["none"]})");
}

json unmanaged(const std::string& name, const std::string& type) {
    return {{"config", json::object()}, {"description", ""},  {"name", name},   {"type", type},
            {"used_by", nullptr},       {"managed", false},   {"status", ""},   {"locations", nullptr}};
}

json some_networks() { return {lodgetest0(), unmanaged("lo", "loopback"), unmanaged("eth0", "physical"),
                               unmanaged("br10", "bridge"), unmanaged("br2", "bridge")}; }

TEST(CliNetworkList, RowsSkipLoopbackAndSortByName) {
    auto rows = network_rows(some_networks());
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0], (Row{"br2", "bridge", "NO", "", "", "", "0", ""}));
    EXPECT_EQ(rows[1][0], "br10");
    EXPECT_EQ(rows[2][0], "eth0");
    EXPECT_EQ(rows[3], (Row{"lodgetest0", "bridge", "YES", "10.123.0.1/24", "none", "", "3", "CREATED"}));
}

TEST(CliNetworkList, TableAndCsvAsLxcPrintsThem) {
    json networks = {lodgetest0(), unmanaged("lo", "loopback"), unmanaged("eth0", "physical")};
    EXPECT_EQ(network_list("table", networks),
              "+------------+----------+---------+---------------+------+-------------+---------+---------+\n"
              "|    NAME    |   TYPE   | MANAGED |     IPV4      | IPV6 | DESCRIPTION | USED BY |  STATE  |\n"
              "+------------+----------+---------+---------------+------+-------------+---------+---------+\n"
              "| eth0       | physical | NO      |               |      |             | 0       |         |\n"
              "+------------+----------+---------+---------------+------+-------------+---------+---------+\n"
              "| lodgetest0 | bridge   | YES     | 10.123.0.1/24 | none |             | 3       | CREATED |\n"
              "+------------+----------+---------+---------------+------+-------------+---------+---------+\n");
    EXPECT_EQ(network_list("csv", networks),
              "eth0,physical,NO,,,,0,\nlodgetest0,bridge,YES,10.123.0.1/24,none,,3,CREATED\n");
}

TEST(CliNetworkList, JsonAndYamlKeepEveryNetworkInGoFieldOrder) {
    json networks = {lodgetest0(), unmanaged("lo", "loopback")};
    // json.Encoder of []api.Network: the struct's order, the loopback kept,
    // nil lists as null.
    EXPECT_EQ(network_list("json", networks),
              R"([{"config":{"ipv4.address":"10.123.0.1/24","ipv4.nat":"true","ipv6.address":"none"},)"
              R"("description":"","name":"lodgetest0","type":"bridge","used_by":["/1.0/profiles/default",)"
              R"("/1.0/instances/net-b","/1.0/instances/net-a"],"managed":true,"status":"Created",)"
              R"("locations":["none"]},{"config":{},"description":"","name":"lo","type":"loopback",)"
              R"("used_by":null,"managed":false,"status":"","locations":null}])"
              "\n");
    auto yaml = network_list("yaml", networks);
    EXPECT_EQ(yaml.substr(0, 32), "- config:\n    ipv4.address: 10.1");
    EXPECT_NE(yaml.find("- config: {}\n  description: \"\"\n  name: lo\n  type: loopback\n  used_by: []\n"
                        "  managed: false\n  status: \"\"\n  locations: []\n"),
              std::string::npos)
        << yaml;
}

TEST(CliNetworkShow, MatchesLxdsReferenceYaml) {
    EXPECT_EQ(network_yaml(lodgetest0()), reference_text("network/network-show.yaml"));
}

TEST(CliNetworkInfo, ReferenceStateAsLxcPrintsIt) {
    EXPECT_EQ(network_info("lodgetest0", test::reference_metadata("network/api-network-state.json")),
              "Name: lodgetest0\n"
              "MAC address: 00:16:3e:bd:fb:94\n"
              "MTU: 1500\n"
              "State: up\n"
              "Type: broadcast\n"
              "\n"
              "IP addresses:\n"
              "  inet\t10.123.0.1/24 (global)\n"
              "\n"
              "Network usage:\n"
              "  Bytes received: 3.02kB\n"
              "  Bytes sent: 1.43kB\n"
              "  Packets received: 32\n"
              "  Packets sent: 5\n"
              "\n"
              "Bridge:\n"
              "  ID: 8000.00163ebdfb94\n"
              "  STP: false\n"
              "  Forward delay: 1500\n"
              "  Default VLAN ID: 0\n"
              "  VLAN filtering: false\n"
              "  Upper devices: veth445b1c78, veth6ae1e65f\n");
}

TEST(CliNetworkInfo, InterfacesWithoutAddressesOrBridgeAndOtherKinds) {
    json state = {{"addresses", json::array()}, {"counters", {{"bytes_received", 999}, {"bytes_sent", 2500000}}},
                  {"hwaddr", ""}, {"mtu", 65536}, {"state", "up"}, {"type", "loopback"},
                  {"bond", nullptr}, {"bridge", nullptr},
                  {"vlan", {{"lower_device", "eth0"}, {"vid", 10}}}, {"ovn", nullptr}};
    EXPECT_EQ(network_info("lo", state),
              "Name: lo\nMAC address: \nMTU: 65536\nState: up\nType: loopback\n\n"
              "Network usage:\n  Bytes received: 999B\n  Bytes sent: 2.50MB\n  Packets received: 0\n"
              "  Packets sent: 0\n\nVLAN:\n  Lower device: eth0\n  VLAN ID: 10\n");
}

TEST(CliNetworkInfo, ByteSizesAsGoUnitsPrintsThem) {
    EXPECT_EQ(decimal_byte_size(0), "0B");
    EXPECT_EQ(decimal_byte_size(999), "999B");
    EXPECT_EQ(decimal_byte_size(1000), "1.00kB");
    EXPECT_EQ(decimal_byte_size(3023), "3.02kB");
    EXPECT_EQ(decimal_byte_size(999999), "1000.00kB"); // Go divides first, then compares
    EXPECT_EQ(decimal_byte_size(1500000000000ull), "1.50TB");
}

TEST(CliNetworkLeases, ReferenceLeasesAsTableAndJson) {
    auto leases = test::reference_metadata("network/api-leases.json");
    EXPECT_EQ(lease_list("table", leases),
              "+---------------+-------------------+--------------+---------+\n"
              "|   HOSTNAME    |    MAC ADDRESS    |  IP ADDRESS  |  TYPE   |\n"
              "+---------------+-------------------+--------------+---------+\n"
              "| lodgetest0.gw |                   | 10.123.0.1   | GATEWAY |\n"
              "+---------------+-------------------+--------------+---------+\n"
              "| net-a         | 00:16:3e:0a:80:b2 | 10.123.0.226 | DYNAMIC |\n"
              "+---------------+-------------------+--------------+---------+\n"
              "| net-b         | 00:16:3e:97:77:1d | 10.123.0.179 | DYNAMIC |\n"
              "+---------------+-------------------+--------------+---------+\n");
    // The server's order and Go's field order: the reference's own bytes.
    auto raw = reference_text("network/api-leases.json");
    auto start = raw.find("\"metadata\":") + 11;
    EXPECT_EQ(lease_list("json", leases), raw.substr(start, raw.rfind('}') - start) + "\n");
}

TEST(CliNetworkAttach, DeviceFollowsTheNetworkKind) {
    auto managed = lodgetest0();
    EXPECT_EQ(instance_nic_for(managed, true, std::nullopt), (json{{"type", "nic"}, {"network", "lodgetest0"}}));
    EXPECT_EQ(instance_nic_for(managed, true, std::string("eth1")),
              (json{{"type", "nic"}, {"network", "lodgetest0"}, {"name", "eth1"}}));
    // Without instance_nic_network the NIC names its parent instead.
    EXPECT_EQ(instance_nic_for(managed, false, std::nullopt),
              (json{{"type", "nic"}, {"nictype", "bridged"}, {"parent", "lodgetest0"}}));
    EXPECT_EQ(instance_nic_for(unmanaged("br0", "bridge"), true, std::nullopt),
              (json{{"type", "nic"}, {"nictype", "bridged"}, {"parent", "br0"}}));
    EXPECT_EQ(instance_nic_for(unmanaged("eth0", "physical"), true, std::nullopt),
              (json{{"type", "nic"}, {"nictype", "macvlan"}, {"parent", "eth0"}}));
    // Profiles always get parent=, as lxc 5.0.2 does.
    EXPECT_EQ(profile_nic_for(managed, std::string("eth1")),
              (json{{"type", "nic"}, {"nictype", "bridged"}, {"parent", "lodgetest0"}, {"name", "eth1"}}));
}

std::string detach_error(const json& devices, const std::string& network, std::optional<std::string> device) {
    try {
        nic_to_detach(devices, network, device);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(CliNetworkDetach, FindsTheOneNicOnTheNetwork) {
    json devices = {{"root", {{"type", "disk"}, {"path", "/"}, {"pool", "default"}}},
                    {"eth0", {{"type", "nic"}, {"network", "lodgetest0"}}},
                    {"eth1", {{"type", "nic"}, {"nictype", "bridged"}, {"parent", "br0"}}},
                    {"eth2", {{"type", "nic"}, {"nictype", "bridged"}, {"parent", "br0"}}}};
    EXPECT_EQ(nic_to_detach(devices, "lodgetest0", std::nullopt), "eth0");
    EXPECT_EQ(nic_to_detach(devices, "br0", std::string("eth2")), "eth2");
    EXPECT_EQ(detach_error(devices, "br0", std::nullopt), "More than one device matches, specify the device name");
    EXPECT_EQ(detach_error(devices, "other", std::nullopt), "No device found for this network");
    EXPECT_EQ(detach_error(devices, "br0", std::string("eth9")), "The specified device doesn't exist");
    EXPECT_EQ(detach_error(devices, "br0", std::string("eth0")), "The specified device doesn't match the network");
    EXPECT_EQ(detach_error(devices, "default", std::string("root")), "The specified device doesn't match the network");
}

TEST(CliNetworkEdit, TakesConfigAndDescriptionOnly) {
    auto put = parse_network_yaml("### help\nconfig:\n  ipv4.nat: true\n  ipv4.address: 10.0.0.1/24\n"
                                  "description: lab\nname: renamed\nmanaged: false\nused_by: []\n");
    EXPECT_EQ(put, (json{{"config", {{"ipv4.nat", "true"}, {"ipv4.address", "10.0.0.1/24"}}}, {"description", "lab"}}));
    EXPECT_EQ(parse_network_yaml(""), (json{{"config", nullptr}, {"description", ""}}));
    EXPECT_THROW(parse_network_yaml("config: [a, b]\n"), Error);
    EXPECT_THROW(parse_network_yaml("config:\n  a: {b: c}\n"), Error);
    EXPECT_THROW(parse_network_yaml("config: {\n"), Error);
}

TEST(CliNetworkVerbs, ParseWithLxcsAliasesAndArity) {
    auto parse = [](std::vector<std::string> argv) { return parse_command_line(command_table(), argv); };
    EXPECT_EQ(parse({"network", "ls"}).command->path, "network list");
    EXPECT_EQ(parse({"network", "rm", "n"}).command->path, "network delete");
    EXPECT_EQ(parse({"network", "mv", "a", "b"}).command->path, "network rename");
    auto create = parse({"network", "create", "n", "ipv4.address=auto", "-t", "bridge", "--description=lab"});
    EXPECT_EQ(create.args.value("type"), "bridge");
    EXPECT_EQ(create.args.value("description"), "lab");
    EXPECT_EQ(create.args.positional.size(), 2u);
    EXPECT_EQ(parse({"network", "attach", "n", "c1", "eth1", "eth1"}).command->path, "network attach");
    EXPECT_THROW(parse({"network", "attach", "n", "c1", "a", "b", "c"}), Error);
    EXPECT_THROW(parse({"network", "detach", "n"}), Error);
    EXPECT_EQ(parse({"network", "list-leases", "n", "-f", "csv"}).args.value("format"), "csv");
    std::ostringstream out, err;
    EXPECT_EQ(run_cli({"--help"}, out, err), 0);
    EXPECT_NE(out.str().find("  network       Manage and attach instances to networks\n"), std::string::npos);
}

// --- end to end against a canned server ---

struct Run {
    int status;
    std::string out, err;
};

Run lodge(std::vector<std::string> argv) {
    std::ostringstream out, err;
    int status = run_cli(argv, out, err);
    return {status, out.str(), err.str()};
}

TEST(CliNetworkVerbs, ListAndShowOverTheApi) {
    test::CannedServer server({{"GET /1.0/networks?recursion=1", some_networks()},
                               {"GET /1.0/networks/lodgetest0", lodgetest0()}});
    auto list = lodge({"network", "list", "local:", "--format", "compact"});
    EXPECT_EQ(list.status, 0) << list.err;
    EXPECT_NE(list.out.find("  lodgetest0  bridge    YES      10.123.0.1/24  none"), std::string::npos) << list.out;
    auto show = lodge({"network", "show", "local:lodgetest0"});
    EXPECT_EQ(show.out, reference_text("network/network-show.yaml"));
    auto filtered = lodge({"network", "list", "local:lodgetest0"});
    EXPECT_EQ(filtered.status, 1);
    EXPECT_EQ(filtered.err, "Error: Filtering isn't supported yet\n");
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].path, "/1.0/networks?recursion=1");
}

TEST(CliNetworkVerbs, CreateSetAndUnsetSendLxcsBodies) {
    test::CannedServer server({{"POST /1.0/networks", nullptr},
                               {"GET /1.0/networks/lodgetest0", lodgetest0()},
                               {"PUT /1.0/networks/lodgetest0", nullptr},
                               {"GET /1.0/networks/eth0", unmanaged("eth0", "physical")}});
    auto create = lodge({"network", "create", "lodgetest0", "ipv4.address=10.123.0.1/24", "--type", "bridge"});
    EXPECT_EQ(create.status, 0) << create.err;
    EXPECT_EQ(create.out, "Network lodgetest0 created\n");
    EXPECT_EQ(lodge({"network", "create", "n", "novalue"}).err, "Error: Bad key/value pair: novalue\n");
    EXPECT_EQ(lodge({"network", "set", "lodgetest0", "ipv6.address", "auto"}).status, 0);
    EXPECT_EQ(lodge({"network", "unset", "lodgetest0", "ipv4.nat"}).status, 0);
    auto refused = lodge({"network", "set", "eth0", "mtu=9000"});
    EXPECT_EQ(refused.err, "Error: Only managed networks can be modified\n");

    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 6u); // the bad pair never reached the server
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(json::parse(requests[0].body),
              (json{{"config", {{"ipv4.address", "10.123.0.1/24"}}}, {"description", ""}, {"name", "lodgetest0"},
                    {"type", "bridge"}}));
    EXPECT_EQ(requests[2].method, "PUT");
    EXPECT_EQ(json::parse(requests[2].body)["config"],
              (json{{"ipv4.address", "10.123.0.1/24"}, {"ipv4.nat", "true"}, {"ipv6.address", "auto"}}));
    EXPECT_EQ(json::parse(requests[4].body)["config"],
              (json{{"ipv4.address", "10.123.0.1/24"}, {"ipv6.address", "none"}}));
    EXPECT_EQ(requests[5].path, "/1.0/networks/eth0"); // read, then refused without a PUT
}

TEST(CliNetworkVerbs, AttachAndDetachRewriteTheInstanceDevices) {
    json instance = {{"name", "net-a"},      {"architecture", "x86_64"}, {"config", json::object()},
                     {"devices", {{"root", {{"type", "disk"}, {"path", "/"}, {"pool", "default"}}}}},
                     {"ephemeral", false},   {"profiles", {"default"}},  {"stateful", false},
                     {"description", ""},    {"status", "Running"}};
    json attached = instance;
    attached["devices"]["lodgetest0"] = {{"type", "nic"}, {"network", "lodgetest0"}, {"name", "eth1"}};
    json async = {{"envelope",
                   {{"type", "async"}, {"status", "Operation created"}, {"status_code", 100},
                    {"operation", "/1.0/operations/op1"}, {"error_code", 0}, {"error", ""},
                    {"metadata", {{"id", "op1"}, {"status", "Running"}}}}}};
    test::CannedServer server({{"GET /1.0", {{"api_extensions", {"network", "instance_nic_network"}}}},
                               {"GET /1.0/networks/lodgetest0", lodgetest0()},
                               {"GET /1.0/instances/net-a", instance},
                               {"GET /1.0/instances/net-b", attached},
                               {"PUT /1.0/instances/net-a", async},
                               {"PUT /1.0/instances/net-b", async},
                               {"GET /1.0/operations/op1/wait", {{"id", "op1"}, {"status", "Success"}}}});
    auto attach = lodge({"network", "attach", "lodgetest0", "net-a", "lodgetest0", "eth1"});
    EXPECT_EQ(attach.status, 0) << attach.err;
    EXPECT_EQ(attach.out, "");
    auto taken = lodge({"network", "attach", "lodgetest0", "net-b"});
    EXPECT_EQ(taken.err, "Error: Device already exists: lodgetest0\n");
    auto detach = lodge({"network", "detach", "lodgetest0", "net-b"});
    EXPECT_EQ(detach.status, 0) << detach.err;

    std::vector<json> puts;
    for (const auto& r : server.requests())
        if (r.method == "PUT") puts.push_back(json::parse(r.body));
    ASSERT_EQ(puts.size(), 2u);
    EXPECT_EQ(puts[0]["devices"]["lodgetest0"], attached["devices"]["lodgetest0"]);
    EXPECT_EQ(puts[0]["profiles"], json({"default"}));
    EXPECT_FALSE(puts[0].contains("status"));
    EXPECT_EQ(puts[1]["devices"], instance["devices"]);
}

} // namespace
} // namespace lodge::cli
