// lodged as an admin meets it: start it on a fresh state directory, talk to
// it over its unix socket (raw HTTP and LXD's own `lxc` client), restart it
// and find the config kept, feed it bad input and get LXD's error envelope.
#include "tests/integration/daemon_harness.hpp"
#include "tests/integration/harness.hpp"
#include "tests/unit/daemon/reference.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

using namespace lodge::test;
using nlohmann::json;

namespace {

const std::set<std::string> server_maps{".metadata.config", ".metadata.environment.kernel_features",
                                        ".metadata.environment.lxc_features"};

// `lxc ARGS...` with LXD_DIR on the state directory and a private HOME (the
// client writes its config there).
Result lxc(const Lodged& daemon, const std::string& home, std::vector<std::string> args) {
    std::vector<std::string> argv{"env", "LXD_DIR=" + daemon.state_dir(), "HOME=" + home, lxc_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, "", 30);
}

} // namespace

TEST(DaemonLodged, ServesTheServerObjectOnItsUnixSocket) {
    TempDir tmp;
    Lodged lodged(tmp.path() + "/state");

    struct stat st {};
    ASSERT_EQ(::stat(lodged.socket().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);

    auto reply = lodged.request("GET", "/1.0");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.headers["content-type"], "application/json");
    EXPECT_EQ(reply.body.back(), '\n');
    auto j = reply.json();
    EXPECT_TRUE(same_shape(j, load_reference("get-1.0.json"), server_maps)) << lodged.log();
    EXPECT_EQ(j["metadata"]["auth"], "trusted");
    EXPECT_EQ(j["metadata"]["environment"]["server_pid"], lodged.pid());

    auto ops = lodged.request("GET", "/1.0/operations");
    ASSERT_EQ(ops.status, 200);
    EXPECT_EQ(ops.json()["metadata"], json::object()); // LXD's answer when nothing runs
    EXPECT_EQ(lodged.request("GET", "/1.0/operations/00000000-0000-4000-8000-000000000000/wait").status, 404);

    auto root = lodged.request("GET", "/");
    EXPECT_EQ(root.json(), json::parse(reference_http_body("get-root.http")));
    EXPECT_TRUE(std::filesystem::exists(tmp.path() + "/state/database/lodge.db"));
    EXPECT_TRUE(std::filesystem::is_directory(tmp.path() + "/state/storage-pools/default"));
}

TEST(DaemonLodged, ConfigAndDefaultsSurviveARestart) {
    TempDir tmp;
    const auto state = tmp.path() + "/state";
    {
        Lodged lodged(state);
        auto patch = lodged.request("PATCH", "/1.0",
                                    R"({"config": {"user.owner": "ops", "images.auto_update_interval": 24}})");
        ASSERT_EQ(patch.status, 200) << patch.body;
        EXPECT_EQ(lodged.stop(SIGTERM), 0) << lodged.log();
        EXPECT_FALSE(std::filesystem::exists(lodged.socket())) << "the socket outlived a clean shutdown";
    }
    Lodged lodged(state);
    EXPECT_EQ(lodged.request("GET", "/1.0").json()["metadata"]["config"],
              json({{"user.owner", "ops"}, {"images.auto_update_interval", "24"}}));
    // The defaults were made once, not again on the second start.
    EXPECT_EQ(lodged.request("GET", "/1.0/profiles").json()["metadata"],
              json::array({"/1.0/profiles/default", "/1.0/profiles/hardened"}));
    EXPECT_EQ(lodged.request("GET", "/1.0/storage-pools").json()["metadata"],
              json::array({"/1.0/storage-pools/default"}));
    auto profile = lodged.request("GET", "/1.0/profiles/default").json();
    EXPECT_TRUE(same_shape(profile, load_reference("profile-default.json"), {".metadata.config"}));
    auto pool = lodged.request("GET", "/1.0/storage-pools/default").json();
    EXPECT_TRUE(same_shape(pool, load_reference("storage-pool-dir.json")));
    EXPECT_EQ(pool["metadata"]["config"]["source"], state + "/storage-pools/default");
}

TEST(DaemonLodged, RestartsAfterSigkillOverItsStaleSocket) {
    TempDir tmp;
    const auto state = tmp.path() + "/state";
    {
        Lodged lodged(state);
        ASSERT_EQ(lodged.request("PATCH", "/1.0", R"({"config": {"user.a": "1"}})").status, 200);
        EXPECT_EQ(lodged.stop(SIGKILL), 128 + SIGKILL);
    }
    ASSERT_TRUE(std::filesystem::exists(state + "/unix.socket")) << "SIGKILL leaves the socket file";
    Lodged lodged(state);
    EXPECT_EQ(lodged.request("GET", "/1.0").json()["metadata"]["config"], json({{"user.a", "1"}}));
}

TEST(DaemonLodged, RefusesToStartWhereAnotherServes) {
    TempDir tmp;
    Lodged first(tmp.path() + "/state");
    // Run directly: the harness's readiness check would see the first one answer.
    auto second = run({bin("lodged"), "--state-dir", tmp.path() + "/state"}, "", 20);
    EXPECT_EQ(second.status, 1);
    EXPECT_NE(second.err.find("already listening"), std::string::npos) << second.err;
    EXPECT_EQ(first.request("GET", "/1.0").status, 200) << "the second lodged disturbed the first";
}

TEST(DaemonLodged, BadInputGetsLxdErrorsAndChangesNothing) {
    TempDir tmp;
    Lodged lodged(tmp.path() + "/state");

    auto expect_error = [](const HttpReply& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto j = r.json();
        EXPECT_TRUE(same_shape(j, load_reference("error-instance-not-found-404.json")));
        EXPECT_EQ(j["type"], "error");
        EXPECT_EQ(j["error_code"], status);
        EXPECT_TRUE(j["metadata"].is_null());
        return j["error"].get<std::string>();
    };

    EXPECT_NE(expect_error(lodged.request("PATCH", "/1.0", "{\"config\": {"), 400).find("Invalid JSON"),
              std::string::npos);
    EXPECT_EQ(expect_error(lodged.request("GET", "/1.0/no/such/thing"), 404), "not found");
    EXPECT_EQ(expect_error(lodged.request("GET", "/2.0"), 404), "not found");
    expect_error(lodged.request("DELETE", "/1.0"), 405);
    EXPECT_EQ(expect_error(lodged.request("PATCH", "/1.0", R"({"config": {"user.ok": "1", "bogus.key": "x"}})"), 400),
              "Invalid config: Unknown configuration key: bogus.key");
    EXPECT_NE(expect_error(lodged.request("PUT", "/1.0", R"({"config": {"images.auto_update_interval": "often"}})"),
                           400)
                  .find("images.auto_update_interval"),
              std::string::npos);
    EXPECT_EQ(lodged.request("GET", "/1.0").json()["metadata"]["config"], json::object()) << "a refused change stuck";
    expect_error(lodged.request("GET", "/1.0/profiles/ghost"), 404);
    expect_error(lodged.request("PUT", "/1.0", std::string(9 * 1024 * 1024, ' ')), 413);

    // Ansible's `null` body on GET is no error.
    EXPECT_EQ(lodged.request("GET", "/1.0/instances", "null").status, 200);
    // And the daemon still serves after all of it.
    EXPECT_EQ(lodged.request("GET", "/1.0").status, 200);
}

TEST(DaemonLxcClient, InfoProfilesStorageAndConfig) {
    if (lxc_binary().empty()) GTEST_SKIP() << "lxc (Debian's lxd-client) is not installed; scripts/setup installs it";
    TempDir tmp;
    TempDir home("lodge-lxc-home");
    Lodged lodged(tmp.path() + "/state");

    auto info = lxc(lodged, home.path(), {"info"});
    ASSERT_EQ(info.status, 0) << info.err << lodged.log();
    EXPECT_NE(info.out.find("auth: trusted"), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("api_version: \"1.0\""), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("server: lodge"), std::string::npos) << info.out;

    auto profiles = lxc(lodged, home.path(), {"profile", "list", "--format", "csv"});
    ASSERT_EQ(profiles.status, 0) << profiles.err;
    EXPECT_NE(profiles.out.find("default,"), std::string::npos) << profiles.out;

    auto pools = lxc(lodged, home.path(), {"storage", "list", "--format", "csv"});
    ASSERT_EQ(pools.status, 0) << pools.err;
    EXPECT_NE(pools.out.find("default,dir," + lodged.state_dir() + "/storage-pools/default"), std::string::npos)
        << pools.out;

    auto show = lxc(lodged, home.path(), {"profile", "show", "default"});
    ASSERT_EQ(show.status, 0) << show.err;
    EXPECT_NE(show.out.find("pool: default"), std::string::npos) << show.out;

    ASSERT_EQ(lxc(lodged, home.path(), {"config", "set", "user.set_by", "lxc"}).status, 0);
    auto got = lxc(lodged, home.path(), {"config", "get", "user.set_by"});
    EXPECT_EQ(got.out, "lxc\n");
    auto bad = lxc(lodged, home.path(), {"config", "set", "bogus.key", "1"});
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.err.find("bogus.key"), std::string::npos) << bad.err;

    auto operations = lxc(lodged, home.path(), {"operation", "list"});
    EXPECT_EQ(operations.status, 0) << operations.err;

    auto projects = lxc(lodged, home.path(), {"project", "list", "--format", "csv"});
    EXPECT_EQ(projects.status, 0) << projects.err;
    EXPECT_NE(projects.out.find("default"), std::string::npos) << projects.out;
}

TEST(DaemonLodged, SigtermEndsIdleKeptOpenConnectionsAndExitsCleanly) {
    TempDir tmp;
    Lodged lodged(tmp.path() + "/state");
    HttpConnection conn(lodged.socket());
    ASSERT_EQ(conn.request("GET", "/1.0").status, 200);
    auto second = conn.request("GET", "/1.0/profiles/default"); // same connection, kept open
    ASSERT_EQ(second.status, 200);
    EXPECT_FALSE(second.headers["date"].empty());

    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(lodged.stop(SIGTERM), 0) << lodged.log();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
        << "an idle keep-alive connection held up the shutdown";
    EXPECT_TRUE(conn.closed_by_server(1));
    EXPECT_FALSE(std::filesystem::exists(lodged.socket()));
}

TEST(DaemonLodged, TakesItsSocketFromTheServiceManager) {
    const std::string activate = "/usr/bin/systemd-socket-activate";
    if (::access(activate.c_str(), X_OK) != 0) GTEST_SKIP() << "systemd-socket-activate is not installed";
    TempDir tmp;
    const auto state = tmp.path() + "/state";
    std::filesystem::create_directory(state);
    // As lodged.socket does: systemd binds the socket and hands it over.
    Lodged lodged(state, {"--debug"}, {activate, "--listen=" + state + "/unix.socket"});
    EXPECT_EQ(lodged.request("GET", "/1.0").status, 200);
    EXPECT_NE(lodged.log().find("socket from the service manager"), std::string::npos) << lodged.log();
    EXPECT_EQ(lodged.stop(SIGTERM), 0) << lodged.log();
    EXPECT_TRUE(std::filesystem::exists(state + "/unix.socket")) << "lodged removed a socket it did not create";
}

TEST(DaemonLodged, TellsTheServiceManagerWhenReadyAndStopping) {
    TempDir tmp;
    const auto notify_path = tmp.path() + "/notify";
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    notify_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto next_message = [fd] {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    };

    ::setenv("NOTIFY_SOCKET", notify_path.c_str(), 1); // inherited by the lodged forked below only
    std::unique_ptr<Lodged> lodged;
    try {
        lodged = std::make_unique<Lodged>(tmp.path() + "/state");
    } catch (...) {
        ::unsetenv("NOTIFY_SOCKET");
        ::close(fd);
        throw;
    }
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_NE(next_message().find("READY=1"), std::string::npos);
    EXPECT_EQ(lodged->stop(SIGTERM), 0);
    EXPECT_NE(next_message().find("STOPPING=1"), std::string::npos);
    ::close(fd);
}

TEST(DaemonLxcClient, MonitorSeesLifecycleEventsAndShutdownEndsIt) {
    if (lxc_binary().empty()) GTEST_SKIP() << "lxc (Debian's lxd-client) is not installed";
    TempDir tmp;
    TempDir home("lodge-lxc-home");
    Lodged lodged(tmp.path() + "/state");

    Background monitor({"env", "LXD_DIR=" + lodged.state_dir(), "HOME=" + home.path(), lxc_binary(), "monitor",
                        "--type=lifecycle", "--format=json"});
    // The client adds its handler only after the WebSocket is up, so an
    // event right after the handshake may be dropped by the client itself:
    // change the config until one shows.
    bool seen = false;
    for (int i = 0; i < 20 && !seen; ++i) {
        ASSERT_EQ(lxc(lodged, home.path(), {"config", "set", "user.watched", std::to_string(i)}).status, 0);
        seen = monitor.wait_for_output("\"action\":\"config-updated\"", 0.5);
    }
    EXPECT_TRUE(seen) << monitor.output() << lodged.log();
    EXPECT_NE(monitor.output().find("\"source\":\"/1.0\""), std::string::npos) << monitor.output();

    // Shutdown closes the events socket: lodged exits promptly, and so does
    // the client, which sees the connection end.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(lodged.stop(SIGTERM), 0) << lodged.log();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
        << "an open events socket held up the shutdown";
    EXPECT_NE(monitor.wait_exit(5), -1) << "lxc monitor still runs after lodged stopped";
}
