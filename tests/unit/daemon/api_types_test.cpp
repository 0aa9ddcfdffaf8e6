// The api/ types against LXD 5.0.2's recorded objects: reading a reference
// object and writing it back must give the reference, byte for byte in JSON
// terms (field names, nulls, empty maps).
#include "api/operation.hpp"
#include "api/project.hpp"
#include "api/response.hpp"
#include "api/server.hpp"
#include "api/storage_pool.hpp"
#include "api/time.hpp"
#include "tests/unit/daemon/reference.hpp"

#include <gtest/gtest.h>

using lodge::test::load_reference;
using nlohmann::json;
namespace api = lodge::api;

template <typename T>
static json round_trip(const json& j) {
    return json(j.get<T>());
}

TEST(DaemonApiTypes, EnvelopeRoundTripsReferenceSyncAndErrors) {
    for (auto name : {"profile-default.json", "error-instance-not-found-404.json", "error-delete-running-400.json",
                      "post-instances-async-response.json", "instances-recursion0.json"}) {
        auto ref = load_reference(name);
        EXPECT_EQ(round_trip<api::Response>(ref), ref) << name;
    }
}

TEST(DaemonApiTypes, EnvelopeBuildersMatchReference) {
    auto not_found = load_reference("error-instance-not-found-404.json");
    EXPECT_EQ(json(api::error_response(404, "Instance not found")), not_found);

    auto root = json::parse(lodge::test::reference_http_body("get-root.http"));
    EXPECT_EQ(json(api::sync_response(json::array({"/1.0"}))), root);

    auto async_ref = load_reference("post-instances-async-response.json");
    auto op = async_ref["metadata"].get<api::Operation>();
    EXPECT_EQ(json(api::async_response(op.url(), op)), async_ref);
}

TEST(DaemonApiTypes, OperationRoundTripsReference) {
    for (auto name : {"operation-running-or-done.json", "operation-exec-finished.json", "operation-wait-success.json",
                      "post-instances-async-response.json", "post-exec-response.json"}) {
        auto ref = load_reference(name)["metadata"];
        EXPECT_EQ(round_trip<api::Operation>(ref), ref) << name;
    }
}

TEST(DaemonApiTypes, OperationWithoutResourcesSendsNull) {
    api::Operation op;
    op.id = "x";
    auto j = json(op);
    EXPECT_TRUE(j["resources"].is_null());
    EXPECT_TRUE(j["metadata"].is_null());
    EXPECT_EQ(j["status"], "Pending");
    EXPECT_EQ(j["location"], "none");
}

TEST(DaemonApiTypes, ProfilePoolProjectRoundTripReference) {
    auto profile = load_reference("profile-default.json")["metadata"];
    EXPECT_EQ(round_trip<api::Profile>(profile), profile);
    const auto profiles = load_reference("profiles-recursion1.json"); // named: the loop borrows from it
    for (const auto& p : profiles["metadata"]) EXPECT_EQ(round_trip<api::Profile>(p), p);
    for (auto name : {"storage-pool-dir.json", "storage-pool-btrfs.json"}) {
        auto pool = load_reference(name)["metadata"];
        EXPECT_EQ(round_trip<api::StoragePool>(pool), pool) << name;
    }
    auto project = load_reference("project-default.json")["metadata"];
    EXPECT_EQ(round_trip<api::Project>(project), project);
}

TEST(DaemonApiTypes, EmptyMapsAreObjectsNotNull) {
    auto j = json(api::Profile{});
    EXPECT_TRUE(j["config"].is_object());
    EXPECT_TRUE(j["devices"].is_object());
    EXPECT_TRUE(j["used_by"].is_array());
}

TEST(DaemonApiTypes, ServerRoundTripsReference) {
    auto ref = load_reference("get-1.0.json")["metadata"];
    EXPECT_EQ(round_trip<api::Server>(ref), ref);
}

TEST(DaemonApiTypes, UntrustedServerHidesConfigAndEnvironment) {
    api::Server s;
    s.config["user.secret"] = "x";
    auto j = json(s);
    EXPECT_EQ(j["auth"], "untrusted");
    EXPECT_FALSE(j.contains("config"));
    EXPECT_FALSE(j.contains("environment"));
}

TEST(DaemonApiTypes, TimesFormatLikeGo) {
    api::Time t;
    ASSERT_TRUE(api::parse_time("2026-11-24T01:21:44.80117616Z", t));
    EXPECT_EQ(api::format_time(t), "2026-11-24T01:21:44.80117616Z");
    ASSERT_TRUE(api::parse_time("2026-11-24T01:21:44Z", t));
    EXPECT_EQ(api::format_time(t), "2026-11-24T01:21:44Z");
    ASSERT_TRUE(api::parse_time("0001-01-01T00:00:00Z", t));
    EXPECT_EQ(api::format_time(t), "0001-01-01T00:00:00Z");
    EXPECT_FALSE(api::parse_time("2026-11-24 01:21:44", t));
    EXPECT_FALSE(api::parse_time("2026-11-24T01:21:44.Z", t));
}
