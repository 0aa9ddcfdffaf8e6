// /1.0/profiles through the router: LXD's status codes and messages, the
// lifecycle events, in-use checks against instance rows, the expansion of
// an instance's profiles, and profiles kept per project.
#include "daemon/db/instances.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "tests/unit/daemon/daemon_fixture.hpp"

#include <gtest/gtest.h>

using namespace lodge::daemon;
using nlohmann::json;

namespace {

class ProfileEndpoints : public lodge::test::DaemonFixture {
protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        daemon_->events().subscribe({"lifecycle"}, [this](const std::string& text) {
            events_.push_back(json::parse(text));
            return true;
        });
    }

    json profile(const std::string& name, std::map<std::string, std::string> query = {}) {
        auto r = call("GET", "/1.0/profiles/" + name, "", std::move(query));
        EXPECT_EQ(r.status, 200) << r.body;
        return json::parse(r.body)["metadata"];
    }

    // An instance row (no files: the endpoints only read rows).
    void add_instance(const std::string& name, std::vector<std::string> profiles, lodge::api::ConfigMap config = {}) {
        daemon_->with_db([&](db::Database& db) {
            lodge::api::Instance i;
            i.name = name;
            i.created_at = "2026-01-01T00:00:00Z";
            i.profiles = std::move(profiles);
            i.config = std::move(config);
            db::create_instance(db, *db::project_id(db, "default"), i);
        });
    }

    std::string error_of(const HttpResponse& r) { return json::parse(r.body).value("error", ""); }

    std::vector<json> events_;
};

TEST_F(ProfileEndpoints, CreateAnswers201WithLocationAndEvent) {
    auto r = call("POST", "/1.0/profiles", R"({"name": "web", "config": {"limits.cpu": "2"}})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(json::parse(r.body)["metadata"], nullptr);
    EXPECT_EQ(json::parse(r.body)["status_code"], 200);
    bool located = false;
    for (const auto& [k, v] : r.headers) located |= k == "Location" && v == "/1.0/profiles/web";
    EXPECT_TRUE(located);
    ASSERT_EQ(events_.size(), 1u);
    EXPECT_EQ(events_[0]["metadata"]["action"], "profile-created");
    EXPECT_EQ(events_[0]["metadata"]["source"], "/1.0/profiles/web");
    EXPECT_EQ(events_[0]["project"], "default");

    r = call("POST", "/1.0/profiles", R"({"name": "web"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(error_of(r), "The profile already exists");
    EXPECT_EQ(events_.size(), 1u);
}

TEST_F(ProfileEndpoints, NamesAreCheckedAsLxdChecksThem) {
    const auto before = json::parse(call("GET", "/1.0/profiles").body)["metadata"];
    const std::map<std::string, std::string> bad{{R"({})", "No name provided"},
                                                 {R"({"name": "a/b"})", "Profile names may not contain slashes"},
                                                 {R"({"name": ".."})", "Invalid profile name \"..\""}};
    for (const auto& [body, message] : bad) {
        auto r = call("POST", "/1.0/profiles", body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_EQ(error_of(r), message);
    }
    EXPECT_EQ(call("POST", "/1.0/profiles", R"({"name": "a b"})").status, 400);
    EXPECT_EQ(call("POST", "/1.0/profiles", R"([1])").status, 400);
    EXPECT_EQ(call("POST", "/1.0/profiles", R"({"name": "x", "devices": {"d": "disk"}})").status, 400);
    EXPECT_EQ(json::parse(call("GET", "/1.0/profiles").body)["metadata"], before);
}

TEST_F(ProfileEndpoints, BadConfigOrDevicesChangeNothing) {
    ASSERT_EQ(call("POST", "/1.0/profiles", R"({"name": "p", "config": {"user.a": "1"}})").status, 201);
    auto r = call("PATCH", "/1.0/profiles/p", R"({"config": {"limits.memroy": "1GiB", "user.b": "2"}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(error_of(r).find("did you mean limits.memory"), std::string::npos) << error_of(r);
    r = call("PUT", "/1.0/profiles/p", R"({"devices": {"d": {"type": "disk", "source": "/x"}}})");
    EXPECT_EQ(r.status, 400) << r.body;
    r = call("POST", "/1.0/profiles", R"({"name": "q", "config": {"volatile.idmap.base": "0"}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(profile("p")["config"], json({{"user.a", "1"}}));
    EXPECT_EQ(call("GET", "/1.0/profiles/q").status, 404);
    EXPECT_EQ(events_.size(), 1u); // the creation only
}

TEST_F(ProfileEndpoints, PatchMergesPutReplacesEmptyValuesUnset) {
    ASSERT_EQ(call("POST", "/1.0/profiles",
                   R"({"name": "p", "description": "d", "config": {"user.a": "1", "user.b": "2"},
                       "devices": {"one": {"type": "disk", "source": "/a", "path": "/a"}}})")
                  .status,
              201);
    auto r = call("PATCH", "/1.0/profiles/p",
                  R"({"config": {"user.b": "", "user.c": "3"},
                      "devices": {"two": {"type": "disk", "source": "/b", "path": "/b", "readonly": ""}}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["metadata"], json::object());
    auto p = profile("p");
    EXPECT_EQ(p["config"], json({{"user.a", "1"}, {"user.c", "3"}}));
    EXPECT_EQ(p["description"], "d");
    EXPECT_EQ(p["devices"]["two"], json({{"type", "disk"}, {"source", "/b"}, {"path", "/b"}}));
    EXPECT_TRUE(p["devices"].contains("one"));

    ASSERT_EQ(call("PUT", "/1.0/profiles/p", R"({"config": {"user.z": "9"}})").status, 200);
    p = profile("p");
    EXPECT_EQ(p["config"], json({{"user.z", "9"}}));
    EXPECT_EQ(p["description"], "");
    EXPECT_EQ(p["devices"], json::object());
    ASSERT_EQ(events_.size(), 3u);
    EXPECT_EQ(events_[2]["metadata"]["action"], "profile-updated");
    EXPECT_EQ(call("PUT", "/1.0/profiles/none", "{}").status, 404);
}

TEST_F(ProfileEndpoints, RenameAndDeleteRules) {
    auto r = call("POST", "/1.0/profiles/default", R"({"name": "x"})");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(error_of(r), "The \"default\" profile cannot be renamed");
    r = call("DELETE", "/1.0/profiles/default");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(error_of(r), "The \"default\" profile cannot be deleted");

    ASSERT_EQ(call("POST", "/1.0/profiles", R"({"name": "a"})").status, 201);
    ASSERT_EQ(call("POST", "/1.0/profiles", R"({"name": "b"})").status, 201);
    r = call("POST", "/1.0/profiles/a", R"({"name": "b"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(error_of(r), "Name \"b\" already in use");
    r = call("POST", "/1.0/profiles/a", R"({"name": "c"})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(events_.back()["metadata"],
              json({{"action", "profile-renamed"}, {"source", "/1.0/profiles/c"}, {"context", {{"old_name", "a"}}}}));
    EXPECT_EQ(call("GET", "/1.0/profiles/a").status, 404);
    EXPECT_EQ(call("DELETE", "/1.0/profiles/c").status, 200);
    EXPECT_EQ(events_.back()["metadata"]["action"], "profile-deleted");
    EXPECT_EQ(call("DELETE", "/1.0/profiles/c").status, 404);
}

TEST_F(ProfileEndpoints, InUseProfilesNameTheirUsersAndStay) {
    ASSERT_EQ(call("POST", "/1.0/profiles", R"({"name": "shared", "config": {"user.b": "shared"}})").status, 201);
    add_instance("c2", {"default", "shared"});
    add_instance("c1", {"default", "shared"});
    EXPECT_EQ(profile("shared")["used_by"], json({"/1.0/instances/c1", "/1.0/instances/c2"}));
    auto r = call("DELETE", "/1.0/profiles/shared");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_of(r), "Profile is currently in use by: c1, c2");
    EXPECT_EQ(call("GET", "/1.0/profiles/shared").status, 200);

    // Renamed, it stays on its instances and on their snapshots (which
    // remember profiles by name for a restore).
    daemon_->with_db([](db::Database& db) {
        lodge::api::InstanceSnapshot snap;
        snap.name = "s0";
        snap.created_at = "2026-01-01T00:00:00Z";
        snap.profiles = {"default", "shared"};
        db::create_instance_snapshot(db, *db::instance_id(db, 1, "c1"), snap);
    });
    ASSERT_EQ(call("POST", "/1.0/profiles/shared", R"({"name": "common"})").status, 201);
    auto c1 = daemon_->with_db([](db::Database& db) { return *db::get_instance(db, 1, "c1"); });
    EXPECT_EQ(c1.profiles, (std::vector<std::string>{"default", "common"}));
    auto s0 = daemon_->with_db(
        [](db::Database& db) { return *db::get_instance_snapshot(db, *db::instance_id(db, 1, "c1"), "s0"); });
    EXPECT_EQ(s0.profiles, (std::vector<std::string>{"default", "common"}));
    EXPECT_EQ(s0.expanded_config.at("user.b"), "shared");

    // The root disk c1 takes from default cannot lose its pool.
    r = call("PATCH", "/1.0/profiles/default", R"({"devices": {"root": {"type": "disk", "path": "/", "pool": "other"}}})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_of(r), "At least one instance relies on this profile's root disk device");
    EXPECT_EQ(profile("default")["devices"]["root"]["pool"], "default");
}

// Profiles in order, then the instance's own config over them all.
TEST_F(ProfileEndpoints, ExpansionStacksProfilesThenLocalConfig) {
    ASSERT_EQ(call("PATCH", "/1.0/profiles/default", R"({"config": {"user.a": "default", "user.b": "default"}})").status,
              200);
    ASSERT_EQ(call("POST", "/1.0/profiles", R"({"name": "x", "config": {"user.b": "x", "user.c": "x"}})").status, 201);
    add_instance("c1", {"default", "x"}, {{"user.c", "local"}});
    auto c1 = daemon_->with_db([](db::Database& db) { return *db::get_instance(db, 1, "c1"); });
    EXPECT_EQ(c1.expanded_config.at("user.a"), "default");
    EXPECT_EQ(c1.expanded_config.at("user.b"), "x");
    EXPECT_EQ(c1.expanded_config.at("user.c"), "local");
    EXPECT_EQ(c1.expanded_devices.at("root").at("pool"), "default");
}

TEST_F(ProfileEndpoints, ProfilesBelongToTheirProject) {
    daemon_->with_db([](db::Database& db) {
        lodge::api::Project p;
        p.name = "team";
        db::create_project(db, p);
    });
    auto r = call("POST", "/1.0/profiles", R"({"name": "web"})", {{"project", "team"}});
    ASSERT_EQ(r.status, 201) << r.body;
    bool located = false;
    for (const auto& [k, v] : r.headers) located |= k == "Location" && v == "/1.0/profiles/web?project=team";
    EXPECT_TRUE(located);
    EXPECT_EQ(events_.back()["project"], "team");
    EXPECT_EQ(json::parse(call("GET", "/1.0/profiles", "", {{"project", "team"}}).body)["metadata"],
              json({"/1.0/profiles/web?project=team"}));
    EXPECT_EQ(call("GET", "/1.0/profiles/web").status, 404);
    EXPECT_EQ(profile("web", {{"project", "team"}})["name"], "web");
    EXPECT_EQ(call("POST", "/1.0/profiles", R"({"name": "web"})").status, 201); // same name, other project
    EXPECT_EQ(call("POST", "/1.0/profiles", R"({"name": "z"})", {{"project", "nope"}}).status, 404);
}

} // namespace
