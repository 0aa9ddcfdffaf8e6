// Storage volumes printed as lxc prints them: key order, bare times, Go's
// JSON escaping, its natural sort and byte sizes.
#include "cli/storage_volume_output.hpp"

#include <gtest/gtest.h>

namespace lodge::cli {
namespace {

const nlohmann::json volume = {
    {"config", {{"user.b", "2"}, {"size", "1GiB"}}}, {"description", "a <b> & c"}, {"name", "data"},
    {"type", "custom"}, {"used_by", nlohmann::json::array()}, {"location", "none"}, {"content_type", "filesystem"},
    {"project", "default"}, {"created_at", "2026-11-24T07:48:04.463008537Z"}};

TEST(StorageVolumeOutput, YamlInStructOrderWithBareTimes) {
    EXPECT_EQ(volume_yaml(volume, storage_volume_key_order()),
              "config:\n  size: 1GiB\n  user.b: \"2\"\ndescription: a <b> & c\nname: data\ntype: custom\nused_by: []\n"
              "location: none\ncontent_type: filesystem\nproject: default\ncreated_at: 2026-11-24T07:48:04.463008537Z\n");
    auto list = volume_yaml(nlohmann::json::array({volume}), storage_volume_key_order());
    EXPECT_EQ(list.rfind("- config:\n    size: 1GiB\n", 0), 0u) << list;
    EXPECT_NE(list.find("\n  created_at: 2026-11-24T07:48:04.463008537Z\n"), std::string::npos) << list;
    // A config value that only looks like a time stays quoted.
    auto v = volume;
    v["config"] = {{"user.when", "2026-01-01"}};
    EXPECT_NE(volume_yaml(v, storage_volume_key_order()).find("user.when: \"2026-01-01\""), std::string::npos);

    nlohmann::json snap{{"name", "s1"}, {"description", ""}, {"expires_at", "0001-01-01T00:00:00Z"},
                        {"config", nlohmann::json::object()}, {"content_type", "filesystem"},
                        {"created_at", "2026-11-24T07:50:00Z"}};
    EXPECT_EQ(volume_yaml(snap, storage_volume_snapshot_key_order()),
              "description: \"\"\nexpires_at: 0001-01-01T00:00:00Z\nname: s1\nconfig: {}\ncontent_type: filesystem\n"
              "created_at: 2026-11-24T07:50:00Z\n");
}

TEST(StorageVolumeOutput, JsonInStructOrderEscapedAsGo) {
    EXPECT_EQ(volume_json(nlohmann::json::array({volume}), storage_volume_key_order()),
              "[{\"config\":{\"size\":\"1GiB\",\"user.b\":\"2\"},\"description\":\"a \\u003cb\\u003e \\u0026 c\","
              "\"name\":\"data\",\"type\":\"custom\",\"used_by\":[],\"location\":\"none\",\"content_type\":\"filesystem\","
              "\"project\":\"default\",\"created_at\":\"2026-11-24T07:48:04.463008537Z\"}]\n");
}

TEST(StorageVolumeOutput, NaturalSortAndSizes) {
    EXPECT_TRUE(natural_less("snap2", "snap10"));
    EXPECT_FALSE(natural_less("snap10", "snap2"));
    EXPECT_TRUE(natural_less("c1", "c1/snap0"));
    EXPECT_TRUE(natural_less("custom", "custom (snapshot)"));
    EXPECT_TRUE(natural_less("a1", "aa")); // digits before other characters
    EXPECT_TRUE(natural_less("v01", "v001"));
    EXPECT_FALSE(natural_less("x", "x"));
    EXPECT_EQ(iec_bytes(512), "512B");
    EXPECT_EQ(iec_bytes(1536), "1.50KiB");
    EXPECT_EQ(iec_bytes(3.0 * 1024 * 1024 * 1024), "3.00GiB");
    EXPECT_EQ(last_component("vc-data/s1"), "s1");
    EXPECT_EQ(last_component("vc-data"), "vc-data");
}

} // namespace
} // namespace lodge::cli
