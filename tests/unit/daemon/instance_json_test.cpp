// The direct instance writer must produce byte for byte what the JSON
// document path produces, escapes included.
#include "daemon/api/instance_json.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lodge::daemon {
namespace {

TEST(InstanceJson, MatchesTheDocumentPath) {
    api::Instance i;
    i.name = "web1";
    i.description = "quotes \" backslash \\ newline \n tab \t bell \x07 utf8 \xc3\xa9";
    i.created_at = "2026-11-24T04:38:01.123Z";
    i.config = {{"limits.memory", "512MiB"}, {"user.note", "a\"b"}};
    i.devices = {{"root", {{"path", "/"}, {"pool", "default"}, {"type", "disk"}}}};
    i.profiles = {"default", "extra"};
    i.expanded_config = i.config;
    i.expanded_devices = i.devices;
    i.status = api::StatusCode::Running;
    i.ephemeral = true;
    std::string fast;
    append_instance_json(fast, i);
    EXPECT_EQ(fast, nlohmann::json(i).dump());

    api::Instance empty;
    fast.clear();
    append_instance_json(fast, empty);
    EXPECT_EQ(fast, nlohmann::json(empty).dump());
}

} // namespace
} // namespace lodge::daemon
