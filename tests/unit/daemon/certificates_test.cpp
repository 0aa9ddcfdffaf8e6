// The trust store and trust tokens through the router: what a trusted
// client may do, what an untrusted HTTPS client may do with a token, and
// the certificate helpers they rest on.
#include "common/certificate.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "daemon/https_address.hpp"
#include "daemon/server_config.hpp"
#include "tests/unit/daemon/daemon_fixture.hpp"

#include <gtest/gtest.h>

using namespace lodge;
using nlohmann::json;

namespace {

class DaemonCertificates : public test::DaemonFixture {
protected:
    // A client certificate made for the test, as PEM.
    std::string make_client(const std::string& name) {
        const auto crt = dir_ + "/" + name + ".crt", key = dir_ + "/" + name + ".key";
        ensure_certificate(crt, key, CertificateRole::Client);
        return read_file(crt);
    }

    // An HTTPS request from a client presenting pem (untrusted unless the
    // trust store has it, as the listener decides).
    daemon::HttpResponse https_call(const std::string& pem, const std::string& method, const std::string& path,
                                    const std::string& body = "") {
        daemon::Request r;
        r.method = method;
        r.path = path;
        r.body = body;
        r.client_certificate = pem;
        r.client_fingerprint = pem.empty() ? "" : certificate_fingerprint(pem);
        r.remote_address = "127.0.0.1:40000";
        r.trusted = !pem.empty() && daemon_->is_trusted_certificate(r.client_fingerprint);
        return daemon_->router().dispatch(r);
    }

    std::string token(const std::string& name) {
        auto r = call("POST", "/1.0/certificates", json{{"name", name}, {"type", "client"}, {"token", true}}.dump());
        EXPECT_EQ(r.status, 202) << r.body;
        auto meta = json::parse(r.body)["metadata"]["metadata"];
        json t{{"client_name", meta["request"]["name"]}, {"fingerprint", meta["fingerprint"]},
               {"addresses", meta["addresses"]}, {"secret", meta["secret"]}, {"expires_at", "0001-01-01T00:00:00Z"}};
        return base64_encode(t.dump());
    }

    void listen_on(const std::string& address) {
        ASSERT_EQ(call("PATCH", "/1.0", json{{"config", {{"core.https_address", address}}}}.dump()).status, 200);
    }
};

} // namespace

TEST_F(DaemonCertificates, ServerCertificateIsInTheEnvironment) {
    auto env = json::parse(call("GET", "/1.0").body)["metadata"]["environment"];
    EXPECT_EQ(env["certificate"], read_file(dir_ + "/server.crt"));
    EXPECT_EQ(env["certificate_fingerprint"].get<std::string>().size(), 64u);
    EXPECT_EQ(env["addresses"], json::array());
    listen_on("127.0.0.1:8443");
    env = json::parse(call("GET", "/1.0").body)["metadata"]["environment"];
    EXPECT_EQ(env["addresses"], json::array({"127.0.0.1:8443"}));
}

TEST_F(DaemonCertificates, TrustedClientAddsListsRenamesAndRemoves) {
    EXPECT_EQ(json::parse(call("GET", "/1.0/certificates").body)["metadata"], json::array());
    const auto pem = make_client("a");
    const auto fp = certificate_fingerprint(pem);
    auto r = call("POST", "/1.0/certificates", json{{"certificate", certificate_base64_der(pem)}, {"name", "a"}}.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"Location", "/1.0/certificates/" + fp}}));
    EXPECT_EQ(call("POST", "/1.0/certificates", json{{"certificate", pem}}.dump()).status, 409);
    EXPECT_EQ(call("POST", "/1.0/certificates", json{{"certificate", "bm90IGEgY2VydA=="}}.dump()).status, 400);
    EXPECT_EQ(call("POST", "/1.0/certificates", json{{"certificate", pem}, {"restricted", true}}.dump()).status, 400);

    EXPECT_EQ(json::parse(call("GET", "/1.0/certificates").body)["metadata"], json::array({"/1.0/certificates/" + fp}));
    auto listed = json::parse(call("GET", "/1.0/certificates", "", {{"recursion", "1"}}).body)["metadata"];
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0], (json{{"name", "a"}, {"type", "client"}, {"restricted", false}, {"projects", json::array()},
                               {"certificate", pem}, {"fingerprint", fp}}));
    // A prefix names it, as in LXD.
    auto one = call("GET", "/1.0/certificates/" + fp.substr(0, 12));
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(json::parse(one.body)["metadata"]["fingerprint"], fp);
    EXPECT_EQ(call("PATCH", "/1.0/certificates/" + fp, json{{"name", "renamed"}}.dump()).status, 200);
    EXPECT_EQ(json::parse(call("GET", "/1.0/certificates/" + fp).body)["metadata"]["name"], "renamed");
    EXPECT_EQ(call("PATCH", "/1.0/certificates/" + fp, json{{"type", "metrics"}}.dump()).status, 400);
    EXPECT_TRUE(daemon_->is_trusted_certificate(fp));
    EXPECT_EQ(call("DELETE", "/1.0/certificates/" + fp).status, 200);
    EXPECT_FALSE(daemon_->is_trusted_certificate(fp));
    EXPECT_EQ(call("GET", "/1.0/certificates/" + fp).status, 404);
}

TEST_F(DaemonCertificates, TokensNeedAnHttpsAddress) {
    auto r = call("POST", "/1.0/certificates", json{{"name", "x"}, {"token", true}}.dump());
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("core.https_address"), std::string::npos);
}

TEST_F(DaemonCertificates, AnUntrustedClientTradesATokenOnceForTrust) {
    listen_on("127.0.0.1:8443");
    const auto pem = make_client("ws");
    // Untrusted: GET /1.0 says so; everything else is 403.
    auto server = https_call(pem, "GET", "/1.0");
    ASSERT_EQ(server.status, 200);
    EXPECT_EQ(json::parse(server.body)["metadata"]["auth"], "untrusted");
    EXPECT_FALSE(json::parse(server.body)["metadata"].contains("environment"));
    EXPECT_EQ(https_call(pem, "GET", "/1.0/certificates").status, 403);
    EXPECT_EQ(https_call(pem, "GET", "/1.0/nothing-here").status, 403);
    EXPECT_EQ(https_call(pem, "POST", "/1.0/certificates", "{}").status, 403);
    EXPECT_EQ(https_call(pem, "POST", "/1.0/certificates", json{{"token", true}, {"name", "me"}}.dump()).status, 403);

    const auto t = token("ws");
    auto ops = json::parse(call("GET", "/1.0/operations", "", {{"recursion", "1"}}).body)["metadata"];
    ASSERT_EQ(ops["running"].size(), 1u);
    EXPECT_EQ(ops["running"][0]["class"], "token");
    EXPECT_EQ(ops["running"][0]["metadata"]["addresses"], json::array({"127.0.0.1:8443"}));

    // The client can't choose its name: the token's request decides.
    auto added = https_call(pem, "POST", "/1.0/certificates", json{{"password", t}, {"name", "other"}}.dump());
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(json::parse(https_call(pem, "GET", "/1.0").body)["metadata"]["auth"], "trusted");
    auto mine = json::parse(https_call(pem, "GET", "/1.0/certificates/" + certificate_fingerprint(pem)).body);
    EXPECT_EQ(mine["metadata"]["name"], "ws");
    // Trusted now: asking again without a certificate is a mistake.
    EXPECT_EQ(https_call(pem, "POST", "/1.0/certificates", json{{"password", t}}.dump()).status, 400);

    // Used up: another client gets nothing for it.
    const auto other = make_client("other");
    EXPECT_EQ(https_call(other, "POST", "/1.0/certificates", json{{"password", t}}.dump()).status, 403);
    // Later LXD clients name the field trust_token.
    const auto third = make_client("third");
    EXPECT_EQ(https_call(third, "POST", "/1.0/certificates", json{{"trust_token", token("third")}}.dump()).status, 201);
    // Without a client certificate a token has nothing to trust.
    const auto t2 = token("nocert");
    EXPECT_EQ(https_call("", "POST", "/1.0/certificates", json{{"password", t2}}.dump()).status, 400);
}

TEST_F(DaemonCertificates, RevokedAndExpiredTokensAdmitNobody) {
    listen_on("127.0.0.1:8443");
    const auto pem = make_client("ws");
    const auto revoked = token("revoked");
    auto ops = json::parse(call("GET", "/1.0/operations").body)["metadata"]["running"];
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(call("DELETE", ops[0].get<std::string>()).status, 200);
    EXPECT_EQ(https_call(pem, "POST", "/1.0/certificates", json{{"password", revoked}}.dump()).status, 403);

    // An expiry already past when the token is used.
    ASSERT_EQ(call("PATCH", "/1.0", json{{"config", {{"core.remote_token_expiry", "0S"}}}}.dump()).status, 200);
    auto r = https_call(pem, "POST", "/1.0/certificates", json{{"password", token("late")}}.dump());
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("Token has expired"), std::string::npos) << r.body;
    EXPECT_EQ(https_call(pem, "POST", "/1.0/certificates", json{{"password", "garbage"}}.dump()).status, 403);
    EXPECT_FALSE(daemon_->is_trusted_certificate(certificate_fingerprint(pem)));
}

TEST(DaemonHttpsAddress, ParsesWhatLxdAccepts) {
    using daemon::parse_https_address;
    EXPECT_EQ(parse_https_address("127.0.0.1:9443").host, "127.0.0.1");
    EXPECT_EQ(parse_https_address("127.0.0.1:9443").port, 9443u);
    EXPECT_EQ(parse_https_address("127.0.0.1").port, 8443u);
    EXPECT_EQ(parse_https_address("[::1]:8444").host, "::1");
    EXPECT_EQ(parse_https_address("[::]").port, 8443u);
    EXPECT_EQ(parse_https_address(":8443").host, "");
    for (auto bad : {"localhost:8443", "1.2.3.4:0", "1.2.3.4:70000", "::1:8443", "[::1", "1.2.3.4:", "1.2.3.4:x"})
        EXPECT_THROW(parse_https_address(bad), lodge::Error) << bad;
    EXPECT_EQ(daemon::https_listen_addresses("[::1]:8443"), std::vector<std::string>{"[::1]:8443"});
}

TEST(DaemonHttpsAddress, ExpiryExpressions) {
    api::Time t0;
    ASSERT_TRUE(api::parse_time("2026-01-31T10:00:00Z", t0));
    auto at = [&](const std::string& e) { return api::format_time(*profiles::expiry_after(t0, e)); };
    EXPECT_EQ(at("30S"), "2026-01-31T10:00:30Z");
    EXPECT_EQ(at("1H 30M"), "2026-01-31T11:30:00Z");
    EXPECT_EQ(at("1w"), "2026-02-07T10:00:00Z");
    EXPECT_EQ(at("1y"), "2027-01-31T10:00:00Z");
    EXPECT_FALSE(profiles::expiry_after(t0, "").has_value());
    for (auto bad : {"1", "H", "1H 2H", "1h", "soon", "-1H"})
        EXPECT_THROW(profiles::expiry_after(t0, bad), lodge::Error) << bad;
}

TEST(CommonCertificate, RoundTripsAndFingerprints) {
    char tmpl[] = "/tmp/lodge-unit-cert-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    EXPECT_TRUE(ensure_certificate(dir + "/c.crt", dir + "/c.key", CertificateRole::Server));
    EXPECT_FALSE(ensure_certificate(dir + "/c.crt", dir + "/c.key", CertificateRole::Server)); // kept
    auto pem = read_file(dir + "/c.crt");
    EXPECT_EQ(read_file(dir + "/c.key").rfind("-----BEGIN EC PRIVATE KEY-----", 0), 0u);
    EXPECT_EQ(certificate_to_pem(certificate_base64_der(pem)), pem);
    EXPECT_EQ(certificate_fingerprint(pem).size(), 64u);
    EXPECT_NE(certificate_common_name(pem).find('@'), std::string::npos);
    auto [from, to] = certificate_validity(pem);
    EXPECT_GT(to - from, 9LL * 365 * 24 * 3600);
    EXPECT_EQ(base64_decode(base64_encode("ab")), "ab");
    EXPECT_EQ(base64_decode(base64_encode("abcd")), "abcd");
    EXPECT_THROW(base64_decode("abc"), lodge::Error);
    EXPECT_THROW(certificate_fingerprint("nope"), lodge::Error);
    std::filesystem::remove_all(dir);
}
