// Remote management over HTTPS, as a workstation meets it: the server side
// sets core.https_address and issues a trust token; a client with its own
// HOME adds the server with the token (LXD's `lxc` and our `lodge`) and
// manages it over TLS. Untrusted certificates see `auth: untrusted` and
// 403; a token works once, expires and can be revoked.
#include "common/certificate.hpp"
#include "common/file.hpp"
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

using namespace lodge::test;
using nlohmann::json;

namespace {

std::string last_line(const std::string& text) {
    auto end = text.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

class Remote : public ::testing::Test {
protected:
    // Declared in this order so lodged stops before its directories go.
    TempDir state_{"lodge-remote-state"};
    TempDir server_home_{"lodge-remote-admin"}; // the admin on the server
    TempDir workstation_{"lodge-remote-ws"};    // a client machine's HOME
    std::unique_ptr<Lodged> lodged_;
    std::string address_;

    void TearDown() override {
        // Whatever a failed test left running.
        stop_all_containers(state_.path());
    }

    void SetUp() override {
        lodged_ = std::make_unique<Lodged>(state_.path());
        address_ = "127.0.0.1:" + std::to_string(free_loopback_port());
        // Set live: the listener starts without a restart.
        auto r = lodged_->request("PATCH", "/1.0", json{{"config", {{"core.https_address", address_}}}}.dump());
        ASSERT_EQ(r.status, 200) << r.body;
    }

    std::string url() const { return "https://" + address_; }

    // lxc on the server, over the unix socket (LXD_DIR).
    Result server_lxc(std::vector<std::string> args) {
        std::vector<std::string> argv{"env", "LXD_DIR=" + state_.path(), "HOME=" + server_home_.path(), lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 30);
    }
    // lxc on a workstation: no LXD_DIR, its own HOME.
    Result ws_lxc(const std::string& home, std::vector<std::string> args) {
        std::vector<std::string> argv{"env", "-u", "LXD_DIR", "-u", "LXD_CONF", "HOME=" + home, lxc_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 30);
    }
    Result lodge(const std::string& home, std::vector<std::string> args, bool on_server = false) {
        std::vector<std::string> argv{"/usr/bin/env", "-u", "LODGE_REMOTE", "-u", "LODGE_CONF", "HOME=" + home};
        argv.push_back(on_server ? "LODGE_DIR=" + state_.path() : "LODGE_DIR=/nonexistent");
        argv.push_back(bin("lodge"));
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, "", 30);
    }

    // A token for name, asked for over the unix socket.
    json token_operation(const std::string& name) {
        auto r = lodged_->request("POST", "/1.0/certificates", json{{"name", name}, {"type", "client"}, {"token", true}}.dump());
        EXPECT_EQ(r.status, 202) << r.body;
        return r.json()["metadata"];
    }
    std::string token_of(const json& op) {
        json token{{"client_name", op["metadata"]["request"]["name"]},
                   {"fingerprint", op["metadata"]["fingerprint"]},
                   {"addresses", op["metadata"]["addresses"]},
                   {"secret", op["metadata"]["secret"]},
                   {"expires_at", op["metadata"].value("expiresAt", "0001-01-01T00:00:00Z")}};
        return lodge::base64_encode(token.dump());
    }

    // curl over HTTPS with a client certificate (none when cert is "").
    Result curl(const std::string& cert, const std::string& key, const std::string& method, const std::string& path,
                const std::string& body = "") {
        std::vector<std::string> argv{"curl", "-s", "-k", "-X", method, "-w", "\n%{http_code}"};
        if (!cert.empty()) argv.insert(argv.end(), {"--cert", cert, "--key", key});
        if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body});
        argv.push_back(url() + path);
        return run(argv, "", 30);
    }
    static int http_code(const Result& r) { return std::stoi(last_line(r.out)); }
    static json body(const Result& r) { return json::parse(r.out.substr(0, r.out.rfind('\n'))); }
};

} // namespace

TEST_F(Remote, LxcAddsTheServerWithATokenAndManagesItOverTls) {
    if (lxc_binary().empty()) GTEST_SKIP() << "lxc (Debian's lxd-client) is not installed";
    // The server's certificate exists from the first start, key private.
    EXPECT_EQ(std::filesystem::status(state_.path() + "/server.key").permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto info = lodged_->request("GET", "/1.0").json()["metadata"]["environment"];
    EXPECT_EQ(info["certificate"], lodge::read_file(state_.path() + "/server.crt"));
    EXPECT_EQ(info["certificate_fingerprint"], lodge::certificate_fingerprint(info["certificate"]));
    EXPECT_EQ(info["addresses"], json::array({address_}));

    auto add = server_lxc({"config", "trust", "add", "--name", "workstation"});
    ASSERT_EQ(add.status, 0) << add.err;
    EXPECT_EQ(add.out.rfind("Client workstation certificate add token:\n", 0), 0u) << add.out;
    const auto token = last_line(add.out);

    auto remote = ws_lxc(workstation_.path(), {"remote", "add", "srv", token});
    ASSERT_EQ(remote.status, 0) << remote.out << remote.err;
    EXPECT_TRUE(std::filesystem::exists(workstation_.path() + "/.config/lxc/servercerts/srv.crt"));

    auto srv_info = ws_lxc(workstation_.path(), {"info", "srv:"});
    ASSERT_EQ(srv_info.status, 0) << srv_info.err;
    EXPECT_NE(srv_info.out.find("auth: trusted"), std::string::npos) << srv_info.out;
    EXPECT_NE(srv_info.out.find("- " + address_), std::string::npos) << srv_info.out;
    // Instances over TLS: launch from an image, exec (its websockets on
    // the TLS listener too), list, delete.
    ASSERT_EQ(server_lxc({"image", "import", busybox_image_tarball(), "--alias", "bb"}).status, 0);
    auto launch = ws_lxc(workstation_.path(), {"launch", "srv:bb", "srv:tls-c1"});
    ASSERT_EQ(launch.status, 0) << launch.err;
    auto exec = ws_lxc(workstation_.path(), {"exec", "srv:tls-c1", "--", "sh", "-c", "echo over tls; exit 7"});
    EXPECT_EQ(exec.status, 7) << exec.err;
    EXPECT_EQ(exec.out, "over tls\n");
    auto list = ws_lxc(workstation_.path(), {"list", "srv:", "--format", "csv", "-c", "ns"});
    EXPECT_EQ(list.out, "tls-c1,RUNNING\n") << list.err;
    auto del = ws_lxc(workstation_.path(), {"delete", "-f", "srv:tls-c1"});
    EXPECT_EQ(del.status, 0) << del.err;
    EXPECT_EQ(ws_lxc(workstation_.path(), {"list", "srv:", "--format", "csv"}).out, "");
    auto profiles = ws_lxc(workstation_.path(), {"profile", "list", "srv:", "--format", "csv"});
    EXPECT_EQ(profiles.status, 0) << profiles.err;
    EXPECT_NE(profiles.out.find("default"), std::string::npos) << profiles.out;
    // Events come over a WebSocket on the TLS connection.
    // Earlier commands had their own event listeners: wait for one more.
    const auto before = lodged_->event_subscriptions();
    Background monitor({"env", "-u", "LXD_DIR", "HOME=" + workstation_.path(), lxc_binary(), "monitor", "srv:",
                        "--type", "lifecycle"});
    ASSERT_TRUE(wait_until([&] { return lodged_->event_subscriptions() > before; }, 10)) << lodged_->log();
    auto set = ws_lxc(workstation_.path(), {"config", "set", "srv:", "user.from", "workstation"});
    EXPECT_TRUE(monitor.wait_for_output("action: config-updated", 10)) << monitor.output();
    EXPECT_EQ(set.status, 0) << set.err;
    EXPECT_EQ(lodged_->request("GET", "/1.0").json()["metadata"]["config"]["user.from"], "workstation");

    // The trust store names the client; the token is used up.
    auto trust = server_lxc({"config", "trust", "list", "--format", "csv"});
    ASSERT_EQ(trust.status, 0) << trust.err;
    EXPECT_NE(trust.out.find("client,workstation,"), std::string::npos) << trust.out;
    TempDir second("lodge-remote-ws2");
    auto again = ws_lxc(second.path(), {"remote", "add", "srv", token});
    EXPECT_NE(again.status, 0) << again.out;

    // A restart keeps listening and trusting.
    lodged_.reset();
    lodged_ = std::make_unique<Lodged>(state_.path());
    srv_info = ws_lxc(workstation_.path(), {"info", "srv:"});
    EXPECT_EQ(srv_info.status, 0) << srv_info.err;
    EXPECT_NE(srv_info.out.find("auth: trusted"), std::string::npos) << srv_info.out;

    // Removing the certificate ends the trust.
    auto certs = lodged_->request("GET", "/1.0/certificates").json()["metadata"];
    ASSERT_EQ(certs.size(), 1u);
    auto fingerprint = certs[0].get<std::string>().substr(std::string("/1.0/certificates/").size());
    auto removed = server_lxc({"config", "trust", "remove", fingerprint.substr(0, 12)});
    ASSERT_EQ(removed.status, 0) << removed.err;
    EXPECT_NE(ws_lxc(workstation_.path(), {"profile", "list", "srv:"}).status, 0);
}

TEST_F(Remote, UntrustedCertificatesSeeOnlyTheServerObject) {
    if (run({"sh", "-c", "command -v curl"}).status != 0) GTEST_SKIP() << "curl is not installed";
    TempDir client("lodge-remote-client");
    const auto cert = client.path() + "/client.crt", key = client.path() + "/client.key";
    ASSERT_TRUE(lodge::ensure_certificate(cert, key, lodge::CertificateRole::Client));

    for (std::string c : {cert, std::string()}) {
        auto server = curl(c, c.empty() ? "" : key, "GET", "/1.0");
        ASSERT_EQ(http_code(server), 200) << server.out;
        auto metadata = body(server)["metadata"];
        EXPECT_EQ(metadata["auth"], "untrusted");
        EXPECT_FALSE(metadata.contains("environment"));
        EXPECT_FALSE(metadata.contains("config"));
        EXPECT_EQ(metadata["auth_methods"], json::array({"tls"}));
        for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
                 {"GET", "/1.0/instances"}, {"GET", "/1.0/certificates"}, {"PATCH", "/1.0"},
                 {"GET", "/1.0/no-such-thing"}, {"GET", "/1.0/events"}, {"POST", "/1.0/certificates"}}) {
            auto r = curl(c, c.empty() ? "" : key, method, path, method == "GET" ? "" : "{}");
            EXPECT_EQ(http_code(r), 403) << method << " " << path << ": " << r.out;
            EXPECT_EQ(body(r)["error"], "not authorized") << r.out;
        }
    }
    // A wrong token is refused and trusts nothing.
    auto wrong = curl(cert, key, "POST", "/1.0/certificates",
                      json{{"password", lodge::base64_encode(R"({"client_name":"x","secret":"nope"})")}}.dump());
    EXPECT_EQ(http_code(wrong), 403) << wrong.out;
    EXPECT_EQ(body(curl(cert, key, "GET", "/1.0"))["metadata"]["auth"], "untrusted");

    // A token admits the certificate, and a trusted client may not ask again.
    auto token = token_of(token_operation("curl"));
    auto added = curl(cert, key, "POST", "/1.0/certificates", json{{"password", token}}.dump());
    EXPECT_EQ(http_code(added), 201) << added.out;
    EXPECT_EQ(body(curl(cert, key, "GET", "/1.0"))["metadata"]["auth"], "trusted");
    auto listed = curl(cert, key, "GET", "/1.0/certificates?recursion=1");
    ASSERT_EQ(http_code(listed), 200) << listed.out;
    EXPECT_EQ(body(listed)["metadata"][0]["name"], "curl");
    EXPECT_EQ(body(listed)["metadata"][0]["fingerprint"], lodge::certificate_fingerprint(lodge::read_file(cert)));
    // Without its certificate the same client is a stranger again.
    EXPECT_EQ(http_code(curl("", "", "GET", "/1.0/certificates")), 403);
}

TEST_F(Remote, ATokenWorksOnceExpiresAndCanBeRevoked) {
    TempDir client("lodge-remote-client");
    const auto cert = client.path() + "/client.crt", key = client.path() + "/client.key";
    ASSERT_TRUE(lodge::ensure_certificate(cert, key, lodge::CertificateRole::Client));
    auto post_token = [&](const std::string& token) {
        return curl(cert, key, "POST", "/1.0/certificates", json{{"password", token}}.dump());
    };

    // Revoked: deleting the token's operation.
    auto op = token_operation("revoked");
    EXPECT_EQ(op["class"], "token");
    EXPECT_EQ(op["status"], "Running");
    auto del = lodged_->request("DELETE", "/1.0/operations/" + op["id"].get<std::string>());
    EXPECT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(lodged_->request("GET", "/1.0/operations/" + op["id"].get<std::string>()).json()["metadata"]["status"],
              "Cancelled");
    auto r = post_token(token_of(op));
    EXPECT_EQ(http_code(r), 403) << r.out;

    // Expired: an expiry of one second, used two seconds later.
    ASSERT_EQ(lodged_->request("PATCH", "/1.0", json{{"config", {{"core.remote_token_expiry", "1S"}}}}.dump()).status,
              200);
    op = token_operation("late");
    EXPECT_TRUE(op["metadata"].contains("expiresAt"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    r = post_token(token_of(op));
    EXPECT_EQ(http_code(r), 403) << r.out;
    EXPECT_NE(r.out.find("Token has expired"), std::string::npos) << r.out;
    EXPECT_EQ(lodged_->request("GET", "/1.0/certificates").json()["metadata"], json::array());

    // Once: a fresh token admits one certificate, then no other.
    ASSERT_EQ(lodged_->request("PATCH", "/1.0", json{{"config", {{"core.remote_token_expiry", "1H"}}}}.dump()).status,
              200);
    const auto token = token_of(token_operation("once"));
    EXPECT_EQ(http_code(post_token(token)), 201);
    TempDir other("lodge-remote-other");
    ASSERT_TRUE(lodge::ensure_certificate(other.path() + "/c.crt", other.path() + "/c.key", lodge::CertificateRole::Client));
    r = curl(other.path() + "/c.crt", other.path() + "/c.key", "POST", "/1.0/certificates", json{{"password", token}}.dump());
    EXPECT_EQ(http_code(r), 403) << r.out;
    EXPECT_EQ(lodged_->request("GET", "/1.0/certificates").json()["metadata"].size(), 1u);

    // Bad values are refused and change nothing.
    EXPECT_EQ(lodged_->request("PATCH", "/1.0", json{{"config", {{"core.remote_token_expiry", "soon"}}}}.dump()).status,
              400);
    EXPECT_EQ(lodged_->request("PATCH", "/1.0", json{{"config", {{"core.https_address", "nowhere:x"}}}}.dump()).status,
              400);
}

TEST_F(Remote, LodgeAddsTheServerWithATokenAndManagesItOverTls) {
    auto add = lodge(server_home_.path(), {"config", "trust", "add", "laptop"}, true);
    ASSERT_EQ(add.status, 0) << add.err;
    const auto token = last_line(add.out);

    auto remote = lodge(workstation_.path(), {"remote", "add", "srv", token});
    ASSERT_EQ(remote.status, 0) << remote.out << remote.err;
    const auto conf = workstation_.path() + "/.config/lodge";
    EXPECT_TRUE(std::filesystem::exists(conf + "/client.crt"));
    EXPECT_EQ(std::filesystem::status(conf + "/client.key").permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_EQ(lodge::read_file(conf + "/servercerts/srv.crt"), lodge::read_file(state_.path() + "/server.crt"));
    EXPECT_NE(lodge::read_file(conf + "/config.yml").find("addr: " + url()), std::string::npos);

    auto info = lodge(workstation_.path(), {"info", "srv:"});
    ASSERT_EQ(info.status, 0) << info.err;
    EXPECT_NE(info.out.find("auth: trusted"), std::string::npos) << info.out;
    auto profiles = lodge(workstation_.path(), {"profile", "list", "srv:"});
    EXPECT_EQ(profiles.status, 0) << profiles.err;
    EXPECT_NE(profiles.out.find("| default  |"), std::string::npos) << profiles.out; // hardened sets the width
    auto trust = lodge(workstation_.path(), {"config", "trust", "list", "srv:", "--format", "csv"});
    ASSERT_EQ(trust.status, 0) << trust.err;
    EXPECT_NE(trust.out.find("client,laptop,"), std::string::npos) << trust.out;

    // The same with an explicit address and --token; a used token fails.
    TempDir second("lodge-remote-ws2");
    auto again = lodge(second.path(), {"remote", "add", "srv", url(), "--token", token});
    EXPECT_NE(again.status, 0);
    add = lodge(server_home_.path(), {"config", "trust", "add", "desktop"}, true);
    ASSERT_EQ(add.status, 0) << add.err;
    again = lodge(second.path(), {"remote", "add", "srv", url(), "--token", last_line(add.out)});
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(lodge(second.path(), {"info", "srv:"}).status, 0);

    // A server presenting another certificate than the pinned one is refused.
    lodge::write_file(conf + "/servercerts/srv.crt", lodge::read_file(second.path() + "/.config/lodge/client.crt"));
    info = lodge(workstation_.path(), {"info", "srv:"});
    EXPECT_NE(info.status, 0);
    EXPECT_NE(info.err.find("another certificate"), std::string::npos) << info.err;

    // Removed from the trust store, the workstation is refused.
    auto certs = lodge(server_home_.path(), {"config", "trust", "list", "--format", "json"}, true);
    ASSERT_EQ(certs.status, 0) << certs.err;
    for (const auto& c : json::parse(certs.out)) {
        if (c["name"] == "desktop") {
            ASSERT_EQ(lodge(server_home_.path(), {"config", "trust", "remove", c["fingerprint"]}, true).status, 0);
        }
    }
    info = lodge(second.path(), {"info", "srv:"});
    EXPECT_EQ(info.status, 0); // GET /1.0 answers, untrusted
    EXPECT_NE(info.out.find("auth: untrusted"), std::string::npos) << info.out;
    EXPECT_NE(lodge(second.path(), {"profile", "list", "srv:"}).status, 0);
}

TEST_F(Remote, TheListenerFollowsTheConfig) {
    if (run({"sh", "-c", "command -v curl"}).status != 0) GTEST_SKIP() << "curl is not installed";
    const auto old_url = url();
    EXPECT_EQ(http_code(curl("", "", "GET", "/1.0")), 200);
    // Moved: the old address stops answering, the new one answers.
    address_ = "127.0.0.1:" + std::to_string(free_loopback_port());
    auto r = lodged_->request("PATCH", "/1.0", json{{"config", {{"core.https_address", address_}}}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(http_code(curl("", "", "GET", "/1.0")), 200);
    EXPECT_EQ(run({"curl", "-s", "-k", old_url + "/1.0"}).status, 7); // connection refused
    EXPECT_EQ(lodged_->request("GET", "/1.0").json()["metadata"]["environment"]["addresses"], json::array({address_}));
    // An address in use by someone else is refused and changes nothing.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in taken{};
    taken.sin_family = AF_INET;
    taken.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof taken;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&taken), sizeof taken), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&taken), &len);
    const auto busy = "127.0.0.1:" + std::to_string(ntohs(taken.sin_port));
    r = lodged_->request("PATCH", "/1.0", json{{"config", {{"core.https_address", busy}}}}.dump());
    ::close(fd);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(lodged_->request("GET", "/1.0").json()["metadata"]["config"]["core.https_address"], address_);
    EXPECT_EQ(http_code(curl("", "", "GET", "/1.0")), 200);
    // Unset: no HTTPS at all.
    r = lodged_->request("PATCH", "/1.0", json{{"config", {{"core.https_address", ""}}}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(run({"curl", "-s", "-k", url() + "/1.0"}).status, 7);
}
