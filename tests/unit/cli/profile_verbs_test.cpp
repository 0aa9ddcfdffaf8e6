// The profile and device verbs' command lines (groups nested two deep,
// lxc's aliases) and lodge's restart notice after a profile change.
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/object_updates.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace lodge::cli {
namespace {

Parsed parse(std::vector<std::string> argv) { return parse_command_line(command_table(), argv); }

TEST(CliProfileVerbs, NestedDeviceGroupsAndAliasesParse) {
    EXPECT_EQ(parse({"config", "device", "add", "c1", "d1", "disk", "path=/mnt"}).command->path, "config device add");
    EXPECT_EQ(parse({"config", "device", "ls", "c1"}).command->path, "config device list");
    EXPECT_EQ(parse({"config", "device", "override", "c1", "root", "size=1GiB"}).command->path,
              "config device override");
    EXPECT_EQ(parse({"profile", "device", "rm", "p", "d1", "d2"}).command->path, "profile device remove");
    EXPECT_EQ(parse({"profile", "apply", "c1", "default,p"}).command->path, "profile assign");
    EXPECT_EQ(parse({"profile", "cp", "a", "b"}).command->path, "profile copy");
    EXPECT_EQ(parse({"profile", "mv", "a", "b"}).command->path, "profile rename");
    // Profiles have no override: that copies a profile's device into an instance.
    EXPECT_THROW(parse({"profile", "device", "override", "p", "d"}), Error);
    EXPECT_THROW(parse({"profile", "device", "add", "p", "d"}), Error); // the type is missing
    EXPECT_EQ(parse({"config", "get", "c1", "limits.memory"}).command->path, "config get"); // still there
}

TEST(CliProfileVerbs, RestartNoticeNamesTheInstances) {
    std::ostringstream out, err;
    Context ctx{out, err, "", {}};
    report_restart_required(ctx, {{"restart_required", {"c1", "c2"}}});
    EXPECT_EQ(err.str(), "Restart c1, c2 for the change to take effect\n");
    err.str("");
    report_restart_required(ctx, nlohmann::json::object());
    report_restart_required(ctx, nullptr);
    report_restart_required(ctx, {{"restart_required", nlohmann::json::array()}});
    EXPECT_EQ(err.str(), "");
    EXPECT_EQ(out.str(), "");
}

TEST(CliProfileVerbs, PutBodiesAreLxcsWritableParts) {
    auto profile = nlohmann::json::parse(
        R"({"name": "p", "used_by": ["/1.0/instances/c1"], "description": "d", "config": {"a": "1"}, "devices": null})");
    EXPECT_EQ(profile_put(profile),
              nlohmann::json::parse(R"({"config": {"a": "1"}, "description": "d", "devices": {}})"));
    auto instance = nlohmann::json::parse(R"({"name": "c1", "status": "Running", "architecture": "x86_64",
        "config": {"volatile.x": "1"}, "devices": {}, "ephemeral": false, "profiles": ["default"],
        "stateful": false, "description": "", "expanded_config": {}})");
    auto put = instance_put(instance);
    EXPECT_FALSE(put.contains("name"));
    EXPECT_FALSE(put.contains("expanded_config"));
    EXPECT_EQ(put["profiles"], nlohmann::json({"default"}));
    EXPECT_EQ(put["config"]["volatile.x"], "1");
}

} // namespace
} // namespace lodge::cli
