// YAML as `lxc` prints it (Go's yaml.v2): quoting, block layout, literal
// blocks and LXD's field order. Expected texts come from lxc 5.0.2's
// output against the same objects.
#include "cli/yaml_output.hpp"
#include "tests/unit/cli/reference.hpp"

#include <gtest/gtest.h>

namespace lodge::cli {
namespace {

using nlohmann::json;

TEST(CliYaml, QuotesWhatWouldReadBackAsAnotherType) {
    for (const char* s : {"", "1.0", "12", "true", "no", "Off", "~", "null", "0x1F", "-5", "1e3", "2026-11-24",
                          "- item", ": x", "#c", "a: b", "a #b", "trailing ", " leading", "end:", "*ref", "{x}"})
        EXPECT_TRUE(yaml_needs_quotes(s)) << s;
    for (const char* s : {"0.1.0", "dir", "/1.0/profiles/default", "Debian GNU/Linux", "x86_64", "6.18.44-fc-v769",
                          "unix://", "https://127.0.0.1:8443", "full-mesh", "-x", "a:b", "Default lodge profile"})
        EXPECT_FALSE(yaml_needs_quotes(s)) << s;
}

TEST(CliYaml, BlockLayoutLikeYamlV2) {
    json v = {{"config", json::object()},
              {"used_by", json::array({"/1.0/profiles/default"})},
              {"devices", {{"root", {{"path", "/"}, {"pool", "default"}, {"type", "disk"}}}}},
              {"description", ""},
              {"name", "default"}};
    EXPECT_EQ(to_yaml(v, profile_key_order()),
              "config: {}\n"
              "description: \"\"\n"
              "devices:\n"
              "  root:\n"
              "    path: /\n"
              "    pool: default\n"
              "    type: disk\n"
              "name: default\n"
              "used_by:\n"
              "- /1.0/profiles/default\n");
}

TEST(CliYaml, SequencesOfMapsAndNestedSequences) {
    json v = {{"drivers", json::array({{{"name", "dir"}, {"version", "1"}}, {{"name", "btrfs"}, {"version", "6.2"}}})},
              {"matrix", json::array({json::array({1, 2}), json::array()})}};
    EXPECT_EQ(to_yaml(v),
              "drivers:\n"
              "- name: dir\n"
              "  version: \"1\"\n"
              "- name: btrfs\n"
              "  version: \"6.2\"\n"
              "matrix:\n"
              "- - 1\n"
              "  - 2\n"
              "- []\n");
}

TEST(CliYaml, MultiLineStringsAreLiteralBlocks) {
    json v = {{"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
              {"note", "two\nlines"},
              {"tabbed", "a\n\tb"}};
    EXPECT_EQ(to_yaml(v),
              "certificate: |\n"
              "  -----BEGIN CERTIFICATE-----\n"
              "  MIIB\n"
              "  -----END CERTIFICATE-----\n"
              "note: |-\n"
              "  two\n"
              "  lines\n"
              "tabbed: \"a\\n\\tb\"\n");
}

TEST(CliYaml, ServerInfoInLxdsOrder) {
    auto server = test::reference_metadata("get-1.0.json");
    auto text = to_yaml(server, server_key_order());
    // `lxc info` starts with config, then the extensions, then these.
    EXPECT_EQ(text.rfind("config: {}\napi_extensions:\n- storage_zfs_remove_snapshots\n", 0), 0u);
    EXPECT_NE(text.find("\napi_status: stable\napi_version: \"1.0\"\nauth: trusted\npublic: false\nauth_methods:\n- tls\n"
                        "environment:\n  addresses: []\n  architectures:\n  - x86_64\n  - i686\n  certificate: |\n"
                        "    -----BEGIN CERTIFICATE-----\n"),
              std::string::npos);
    EXPECT_NE(text.find("\n  storage: dir | btrfs\n  storage_version: 1 | 6.2\n  storage_supported_drivers:\n"),
              std::string::npos);
    EXPECT_NE(text.find("\n  os_version: \"12\"\n"), std::string::npos);
}

TEST(CliYaml, ScalarsAtTheTop) {
    EXPECT_EQ(to_yaml(json::array()), "[]\n");
    EXPECT_EQ(to_yaml(json::object()), "{}\n");
    EXPECT_EQ(to_yaml(json(nullptr)), "null\n");
    EXPECT_EQ(to_yaml(json({{"num", 5}, {"b", true}, {"z", nullptr}})), "b: true\nnum: 5\nz: null\n");
    // yaml.v2 reads a bare n or y as a boolean, even as a key.
    EXPECT_EQ(to_yaml(json({{"n", 1}})), "\"n\": 1\n");
}

} // namespace
} // namespace lodge::cli

namespace lodge::cli {
namespace {

// yaml.v2 single-quotes strings that read back as strings but cannot be
// plain, and folds them at a space past column 80.
TEST(CliYaml, SingleQuotesAndFoldsLikeYamlV2) {
    EXPECT_EQ(to_yaml(nlohmann::json{{"a", "x: y"}, {"b", "it's"}, {"c", "-1"}, {"d", "*x"}, {"e", "1"}}),
              "a: 'x: y'\nb: it's\nc: \"-1\"\nd: '*x'\ne: \"1\"\n");
    const std::string text = "lodge's hardened baseline: own id range, more syscalls denied, more capabilities "
                             "dropped, limits (use with default: profiles default,hardened)";
    EXPECT_EQ(to_yaml(nlohmann::json::array({{{"description", text}}})),
              "- description: 'lodge''s hardened baseline: own id range, more syscalls denied, more\n"
              "    capabilities dropped, limits (use with default: profiles default,hardened)'\n");
}

} // namespace
} // namespace lodge::cli
