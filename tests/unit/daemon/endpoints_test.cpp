// lodged's endpoints driven through the router (no socket), compared with
// LXD 5.0.2's recorded answers: same envelope, same object shapes.
#include "daemon/daemon.hpp"
#include "daemon/extensions.hpp"
#include "tests/unit/daemon/daemon_fixture.hpp"
#include "tests/unit/daemon/reference.hpp"

#include "storage/driver.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

using namespace lodge::daemon;
using lodge::test::load_reference;
using lodge::test::same_shape;
using nlohmann::json;

namespace {

class DaemonEndpoints : public lodge::test::DaemonFixture {
protected:
    json get(const std::string& path, std::map<std::string, std::string> query = {}) {
        auto res = call("GET", path, "", std::move(query));
        EXPECT_EQ(res.status, 200) << path << ": " << res.body;
        return json::parse(res.body);
    }
};

// Maps with arbitrary keys in the server object.
const std::set<std::string> server_maps{".metadata.config", ".metadata.environment.kernel_features",
                                        ".metadata.environment.lxc_features"};

} // namespace

TEST_F(DaemonEndpoints, RootListsTheApiVersion) {
    auto ref = json::parse(lodge::test::reference_http_body("get-root.http"));
    EXPECT_EQ(get("/"), ref);
}

TEST_F(DaemonEndpoints, ServerMatchesReferenceShape) {
    auto ours = get("/1.0");
    EXPECT_TRUE(same_shape(ours, load_reference("get-1.0.json"), server_maps));
    const auto& env = ours["metadata"]["environment"];
    EXPECT_EQ(ours["metadata"]["auth"], "trusted");
    EXPECT_EQ(ours["metadata"]["api_extensions"], json(api_extensions()));
    EXPECT_FALSE(env["kernel_version"].get<std::string>().empty());
    EXPECT_FALSE(env["architectures"].empty());
    EXPECT_EQ(env["server_pid"], ::getpid());
    // dir always; btrfs where the host has it, as the drivers decide.
    std::string drivers;
    for (const auto& d : lodge::storage::available_drivers()) drivers += (drivers.empty() ? "" : " | ") + d;
    EXPECT_EQ(env["storage"], drivers);
    EXPECT_EQ(env["storage_supported_drivers"][0]["Name"], "dir");
    EXPECT_EQ(env["project"], "default");
}

TEST_F(DaemonEndpoints, AdvertisedExtensionsAreLxdNames) {
    auto all = lodge::test::read_reference_text("api_extensions-5.0.2.txt");
    // lodge's own additions say so in their name; every other one is LXD's.
    for (const auto& e : api_extensions()) {
        if (e.rfind("lodge_", 0) != 0) {
            EXPECT_NE(all.find("\n" + e + "\n"), std::string::npos) << e;
        }
    }
}

TEST_F(DaemonEndpoints, UntrustedCallerSeesOnlyAuth) {
    auto res = call("GET", "/1.0", "", {}, false);
    auto j = json::parse(res.body)["metadata"];
    EXPECT_EQ(j["auth"], "untrusted");
    EXPECT_FALSE(j.contains("environment"));
    EXPECT_FALSE(j.contains("config"));
}

TEST_F(DaemonEndpoints, PatchAndPutServerConfig) {
    auto res = call("PATCH", "/1.0", R"({"config": {"user.color": "blue", "images.auto_update_interval": "12"}})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(json::parse(res.body)["metadata"], json::object());
    EXPECT_EQ(get("/1.0")["metadata"]["config"], json({{"user.color", "blue"}, {"images.auto_update_interval", "12"}}));

    res = call("PATCH", "/1.0", R"({"config": {"user.size": "L", "nope.key": "1"}})");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(json::parse(res.body)["error"], "Invalid config: Unknown configuration key: nope.key");
    EXPECT_EQ(get("/1.0")["metadata"]["config"].size(), 2u) << "a refused PATCH changed the config";

    res = call("PUT", "/1.0", R"({"config": {"user.only": "this"}})");
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(get("/1.0")["metadata"]["config"], json({{"user.only", "this"}}));

    EXPECT_EQ(call("PUT", "/1.0", "{not json").status, 400);
    EXPECT_EQ(call("PUT", "/1.0", "[1]").status, 400);
    EXPECT_EQ(call("PUT", "/1.0", "null").status, 400);
}

TEST_F(DaemonEndpoints, ProfilesMatchReference) {
    auto list = get("/1.0/profiles");
    // LXD's default profile and lodge's hardened baseline.
    EXPECT_EQ(list["metadata"], json::array({"/1.0/profiles/default", "/1.0/profiles/hardened"}));
    auto full = get("/1.0/profiles", {{"recursion", "1"}});
    // hardened has no devices of its own (the root disk comes from default).
    EXPECT_TRUE(same_shape(full, load_reference("profiles-recursion1.json"), {".metadata[].config", ".metadata[].devices"}));
    auto one = get("/1.0/profiles/default");
    EXPECT_TRUE(same_shape(one, load_reference("profile-default.json"), {".metadata.config"}));
    // The same devices as LXD's default profile.
    EXPECT_EQ(one["metadata"]["devices"], load_reference("profile-default.json")["metadata"]["devices"]);
    auto missing = call("GET", "/1.0/profiles/nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(json::parse(missing.body)["error"], "Profile not found");
}

TEST_F(DaemonEndpoints, StoragePoolsMatchReference) {
    EXPECT_EQ(get("/1.0/storage-pools")["metadata"], json::array({"/1.0/storage-pools/default"}));
    auto one = get("/1.0/storage-pools/default");
    EXPECT_TRUE(same_shape(one, load_reference("storage-pool-dir.json")));
    EXPECT_EQ(one["metadata"]["config"]["source"], dir_ + "/storage-pools/default");
    EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/storage-pools/default"));
    auto full = get("/1.0/storage-pools", {{"recursion", "1"}});
    ASSERT_EQ(full["metadata"].size(), 1u);
    EXPECT_TRUE(same_shape(full["metadata"][0], load_reference("storage-pool-dir.json")["metadata"]));
    EXPECT_EQ(call("GET", "/1.0/storage-pools/nope").status, 404);
}

TEST_F(DaemonEndpoints, ProjectsMatchReference) {
    auto one = get("/1.0/projects/default");
    EXPECT_TRUE(same_shape(one, load_reference("project-default.json"), {".metadata.config"}));
    EXPECT_EQ(one["metadata"]["config"], load_reference("project-default.json")["metadata"]["config"]);
    EXPECT_EQ(get("/1.0/projects")["metadata"], json::array({"/1.0/projects/default"}));
    EXPECT_EQ(get("/1.0/projects", {{"recursion", "1"}})["metadata"][0]["name"], "default");
    EXPECT_EQ(call("GET", "/1.0/profiles", "", {{"project", "other"}}).status, 404);
}

TEST_F(DaemonEndpoints, InstancesListIsEmptyAtEveryRecursion) {
    for (auto tree : {"/1.0/instances", "/1.0/containers"})
        for (auto depth : {"0", "1", "2"}) {
            auto j = get(tree, {{"recursion", depth}});
            EXPECT_TRUE(same_shape(j, load_reference("instances-recursion0.json")));
            EXPECT_EQ(j["metadata"], json::array());
        }
}

TEST_F(DaemonEndpoints, NullBodyOnGetIsIgnored) {
    EXPECT_EQ(call("GET", "/1.0", "null").status, 200);
    EXPECT_EQ(call("GET", "/1.0/profiles/default", "null").status, 200);
}
