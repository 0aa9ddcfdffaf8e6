// The router: path parameters, precedence, LXD-style errors for unknown
// paths, wrong methods, bad JSON and handler failures; target parsing.
#include "common/error.hpp"
#include "daemon/http/router.hpp"
#include "daemon/http/target.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

using namespace lodge::daemon;
using nlohmann::json;
namespace api = lodge::api;

namespace {

Request request(std::string method, std::string path, std::string body = "") {
    Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    r.trusted = true;
    return r;
}

json body_of(const HttpResponse& r) { return json::parse(r.body); }

Router test_router() {
    Router router;
    router.add("GET", "/1.0/images/{fingerprint}", [](Request& r) -> Reply {
        return api::sync_response({{"which", "fingerprint"}, {"value", r.param("fingerprint")}});
    });
    router.add("GET", "/1.0/images/aliases", [](Request&) -> Reply { return api::sync_response({{"which", "aliases"}}); });
    router.add("GET", "/1.0/instances/{name}/snapshots/{snap}", [](Request& r) -> Reply {
        return api::sync_response({{"name", r.param("name")}, {"snap", r.param("snap")}});
    });
    router.add("PUT", "/1.0/things", [](Request& r) -> Reply { return api::sync_response(json_body(r)); });
    router.add("DELETE", "/1.0/things", [](Request& r) -> Reply {
        EXPECT_TRUE(json_body(r).is_null());
        return api::sync_response(json::object());
    });
    router.add("GET", "/1.0/fails/{status}", [](Request& r) -> Reply {
        throw lodge::Error(std::stoi(r.param("status")), "it failed");
    });
    router.add("GET", "/1.0/throws", [](Request&) -> Reply { throw std::runtime_error("bug"); });
    router.add("GET", "/1.0/raw", [](Request&) -> Reply {
        HttpResponse raw;
        raw.content_type = "application/octet-stream";
        raw.body = "bytes";
        return raw;
    });
    return router;
}

} // namespace

TEST(DaemonRouter, PathParametersAreCaptured) {
    auto router = test_router();
    auto req = request("GET", "/1.0/instances/web1/snapshots/before");
    auto res = router.dispatch(req);
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(body_of(res)["metadata"], json({{"name", "web1"}, {"snap", "before"}}));
}

TEST(DaemonRouter, LiteralSegmentsWinOverParameters) {
    auto router = test_router();
    auto a = request("GET", "/1.0/images/aliases");
    EXPECT_EQ(body_of(router.dispatch(a))["metadata"]["which"], "aliases");
    auto f = request("GET", "/1.0/images/abc123");
    EXPECT_EQ(body_of(router.dispatch(f))["metadata"]["value"], "abc123");
}

TEST(DaemonRouter, TrailingSlashIsIgnored) {
    auto router = test_router();
    auto req = request("GET", "/1.0/images/aliases/");
    EXPECT_EQ(router.dispatch(req).status, 200);
}

TEST(DaemonRouter, UnknownPathIs404InErrorEnvelope) {
    auto router = test_router();
    for (auto path : {"/1.0/nothing", "/2.0", "/1.0/instances/web1/snapshots", "/1.0/images//x"}) {
        auto req = request("GET", path);
        auto res = router.dispatch(req);
        EXPECT_EQ(res.status, 404) << path;
        auto b = body_of(res);
        EXPECT_EQ(b["type"], "error");
        EXPECT_EQ(b["error_code"], 404);
        EXPECT_EQ(b["error"], "not found");
        EXPECT_TRUE(b["metadata"].is_null());
    }
}

TEST(DaemonRouter, WrongMethodIs405WithAllow) {
    auto router = test_router();
    auto req = request("POST", "/1.0/things");
    auto res = router.dispatch(req);
    EXPECT_EQ(res.status, 405);
    EXPECT_EQ(body_of(res)["error_code"], 405);
    ASSERT_EQ(res.headers.size(), 1u);
    EXPECT_EQ(res.headers[0].first, "Allow");
    EXPECT_EQ(res.headers[0].second, "DELETE, PUT");
}

TEST(DaemonRouter, BadJsonIs400AndNullBodyIsAccepted) {
    auto router = test_router();
    auto bad = request("PUT", "/1.0/things", "{\"config\": ");
    auto res = router.dispatch(bad);
    EXPECT_EQ(res.status, 400);
    EXPECT_NE(body_of(res)["error"].get<std::string>().find("Invalid JSON"), std::string::npos);

    auto null_body = request("DELETE", "/1.0/things", "null");
    EXPECT_EQ(router.dispatch(null_body).status, 200);
    auto empty = request("DELETE", "/1.0/things", "");
    EXPECT_EQ(router.dispatch(empty).status, 200);

    auto good = request("PUT", "/1.0/things", R"({"a": 1})");
    EXPECT_EQ(body_of(router.dispatch(good))["metadata"], json({{"a", 1}}));
}

TEST(DaemonRouter, HandlerErrorsKeepTheirStatus) {
    auto router = test_router();
    spdlog::set_level(spdlog::level::off); // the 500s below are logged as errors on purpose
    for (int status : {400, 404, 409, 500}) {
        auto req = request("GET", "/1.0/fails/" + std::to_string(status));
        auto res = router.dispatch(req);
        EXPECT_EQ(res.status, status);
        EXPECT_EQ(body_of(res)["error_code"], status);
        EXPECT_EQ(body_of(res)["error"], "it failed");
    }
    auto req = request("GET", "/1.0/throws");
    EXPECT_EQ(router.dispatch(req).status, 500);
    spdlog::set_level(spdlog::level::warn);
}

TEST(DaemonRouter, RawRepliesPassThrough) {
    auto router = test_router();
    auto req = request("GET", "/1.0/raw");
    auto res = router.dispatch(req);
    EXPECT_EQ(res.body, "bytes");
    EXPECT_EQ(res.content_type, "application/octet-stream");
}

TEST(DaemonRouter, SyncBodiesEndWithNewlineLikeLxd) {
    auto res = to_http(api::sync_response(json::array({"/1.0"})));
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body.back(), '\n');
    EXPECT_EQ(to_http(api::async_response("/1.0/operations/x", nullptr)).status, 202);
}

TEST(DaemonRouter, AddingARouteTwiceThrows) {
    Router router;
    router.add("GET", "/x", [](Request&) -> Reply { return api::sync_response(nullptr); });
    EXPECT_THROW(router.add("GET", "/x", [](Request&) -> Reply { return api::sync_response(nullptr); }),
                 lodge::Error);
}

TEST(DaemonRouter, RecursionParameter) {
    Request r;
    EXPECT_EQ(recursion(r), 0);
    r.query["recursion"] = "2";
    EXPECT_EQ(recursion(r), 2);
    r.query["recursion"] = "seven";
    EXPECT_THROW(recursion(r), lodge::Error);
}

TEST(DaemonTarget, SplitsAndDecodes) {
    auto t = parse_target("/1.0/instances?filter=&recursion=2&project=my%20proj&x=a+b");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, "/1.0/instances");
    EXPECT_EQ(t->query.at("filter"), "");
    EXPECT_EQ(t->query.at("recursion"), "2");
    EXPECT_EQ(t->query.at("project"), "my proj");
    EXPECT_EQ(t->query.at("x"), "a b");
    auto p = parse_target("/1.0/instances/web%31");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->path, "/1.0/instances/web1");
    EXPECT_FALSE(parse_target("1.0"));
    EXPECT_FALSE(parse_target("/1.0/%zz"));
    EXPECT_FALSE(parse_target("/1.0/%2"));
}

TEST(DaemonRouter, UntrustedCallersReachOnlyOpenRoutes) {
    Router router;
    router.add("GET", "/open", [](Request&) -> Reply { return api::sync_response("open"); }, Access::Untrusted);
    router.add("GET", "/closed", [](Request&) -> Reply { return api::sync_response("closed"); });
    router.add("POST", "/open", [](Request&) -> Reply { return api::sync_response("posted"); });
    auto r = request("GET", "/open");
    r.trusted = false;
    EXPECT_EQ(router.dispatch(r).status, 200);
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/closed"}, {"POST", "/open"}, {"GET", "/missing"}, {"DELETE", "/open"}}) {
        auto u = request(method, path);
        u.trusted = false;
        auto reply = router.dispatch(u);
        EXPECT_EQ(reply.status, 403) << method << " " << path;
        EXPECT_EQ(nlohmann::json::parse(reply.body)["error"], "not authorized");
    }
    auto t = request("GET", "/closed");
    EXPECT_EQ(router.dispatch(t).status, 200);
}
