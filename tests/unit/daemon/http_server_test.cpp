// The unix-socket HTTP server with a test router: deferred replies do not
// hold I/O threads, the body limit answers 413, and stop() ends run().
#include "common/error.hpp"
#include "daemon/http/server.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

using namespace lodge::daemon;
using nlohmann::json;
namespace api = lodge::api;

namespace {

// One request with Connection: close; returns "STATUS BODY".
std::pair<int, std::string> http(const std::string& socket_path, const std::string& method, const std::string& target,
                                 const std::string& body = "") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return {-1, "connect failed"};
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: unix.socket\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string raw;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (raw.size() < 12) return {-1, raw};
    auto pos = raw.find("\r\n\r\n");
    return {std::stoi(raw.substr(9, 3)), pos == std::string::npos ? "" : raw.substr(pos + 4)};
}

// Deferred replies parked until release() answers them all.
struct Parked {
    std::mutex m;
    std::vector<std::function<void(api::Response)>> waiting;
    void release() {
        std::vector<std::function<void(api::Response)>> all;
        {
            std::lock_guard lock(m);
            all.swap(waiting);
        }
        for (auto& r : all) r(api::sync_response("released"));
    }
    size_t count() {
        std::lock_guard lock(m);
        return waiting.size();
    }
};

class DaemonHttpServer : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lodge-unit-http-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        router_.add("GET", "/fast", [](Request&) -> Reply { return api::sync_response("fast"); });
        router_.add("GET", "/park", [this](Request&) -> Reply {
            return Deferred{[this](std::function<void(api::Response)> respond) {
                std::lock_guard lock(parked_.m);
                parked_.waiting.push_back(std::move(respond));
            }};
        });
        router_.add("GET", "/release", [this](Request&) -> Reply {
            std::lock_guard lock(releasers_mutex_);
            releasers_.emplace_back([this] { parked_.release(); }); // from a foreign thread, as operations do
            return api::sync_response("ok");
        });
        router_.add("PUT", "/echo", [](Request& r) -> Reply { return api::sync_response(r.body.size()); });
        router_.add("POST", "/1.0/images", [](Request& r) -> Reply { return api::sync_response(r.body.size()); });
        ServerOptions options;
        options.body_limit = 1024;
        options.upload_limit = 8192;
        options.threads = 2;
        server_ = std::make_unique<UnixServer>(router_, socket(), options);
        runner_ = std::thread([this] { server_->run(); });
    }
    void TearDown() override {
        {
            std::lock_guard lock(releasers_mutex_);
            for (auto& t : releasers_) t.join();
        }
        parked_.release();
        server_->stop();
        runner_.join();
        server_.reset();
        EXPECT_FALSE(std::filesystem::exists(socket())) << "socket left behind";
        std::filesystem::remove_all(dir_);
    }
    std::string socket() const { return dir_ + "/unix.socket"; }

    std::string dir_;
    Router router_;
    Parked parked_;
    std::mutex releasers_mutex_;
    std::vector<std::thread> releasers_;
    std::unique_ptr<UnixServer> server_;
    std::thread runner_;
};

} // namespace

TEST_F(DaemonHttpServer, DeferredRepliesHoldNoThread) {
    // More parked requests than I/O threads: were a thread blocked per
    // request, /fast and /release below could never be served.
    std::vector<std::future<std::pair<int, std::string>>> parked;
    for (int i = 0; i < 5; ++i) parked.push_back(std::async(std::launch::async, [this] { return http(socket(), "GET", "/park"); }));
    for (int i = 0; i < 500 && parked_.count() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(parked_.count(), 5u);
    EXPECT_EQ(http(socket(), "GET", "/fast").first, 200);
    EXPECT_EQ(http(socket(), "GET", "/release").first, 200);
    for (auto& f : parked) {
        auto [status, body] = f.get();
        EXPECT_EQ(status, 200);
        EXPECT_EQ(json::parse(body)["metadata"], "released");
    }
}

TEST_F(DaemonHttpServer, BodyLimitGives413AndBadTargets400) {
    EXPECT_EQ(http(socket(), "PUT", "/echo", std::string(100, 'x')).first, 200);
    auto [status, body] = http(socket(), "PUT", "/echo", std::string(4096, 'x'));
    EXPECT_EQ(status, 413);
    EXPECT_EQ(json::parse(body)["error_code"], 413);
    EXPECT_EQ(http(socket(), "GET", "/bad%zz").first, 400);
    EXPECT_EQ(http(socket(), "GET", "/nothing").first, 404);
}

TEST_F(DaemonHttpServer, ImageUploadsHaveTheirOwnLimit) {
    auto [status, body] = http(socket(), "POST", "/1.0/images", std::string(4096, 'x'));
    EXPECT_EQ(status, 200);
    EXPECT_EQ(json::parse(body)["metadata"], 4096);
    EXPECT_EQ(http(socket(), "POST", "/1.0/images?project=default", std::string(4096, 'x')).first, 200);
    EXPECT_EQ(http(socket(), "POST", "/1.0/images", std::string(10000, 'x')).first, 413);
    // Only the upload itself: other image requests keep the small limit.
    EXPECT_EQ(http(socket(), "POST", "/1.0/images/aliases", std::string(4096, 'x')).first, 413);
}

TEST_F(DaemonHttpServer, RefusesASecondServerOnALiveSocket) {
    Router other;
    EXPECT_THROW(UnixServer second(other, socket()), lodge::Error);
    EXPECT_EQ(http(socket(), "GET", "/fast").first, 200);
}
