// The HTTP client and LXD's envelope: a fake server on a unix socket
// answers with Content-Length, chunked and close-delimited bodies, and the
// errors users see come out as LXD worded them.
#include "cli/api_client.hpp"
#include "cli/error.hpp"
#include "cli/http_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace lodge::cli {
namespace {

// Serves one connection: reads a request head, writes each canned answer
// in turn (one per request), then closes.
class FakeServer {
public:
    explicit FakeServer(std::vector<std::string> answers) {
        char tmpl[] = "/tmp/lodge-cli-http-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/unix.socket";
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 1) != 0)
            throw std::runtime_error("fake server: bind/listen failed");
        thread_ = std::thread([this, answers = std::move(answers)] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string buf;
            for (const auto& answer : answers) {
                char tmp[4096];
                while (buf.find("\r\n\r\n") == std::string::npos) {
                    ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
                    if (n <= 0) break;
                    buf.append(tmp, static_cast<size_t>(n));
                }
                auto end = buf.find("\r\n\r\n");
                if (end == std::string::npos) break;
                requests.push_back(buf.substr(0, end));
                buf.erase(0, end + 4); // the tests send no bodies to this server
                ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        });
    }
    ~FakeServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
        std::filesystem::remove_all(dir_);
    }
    const std::string& path() const { return path_; }
    std::vector<std::string> requests;

private:
    std::string dir_, path_;
    int fd_ = -1;
    std::thread thread_;
};

std::string reply(const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string sync_ok = R"({"type":"sync","status":"Success","status_code":200,"metadata":{"api_version":"1.0"}})";

TEST(CliHttp, KeepsTheConnectionForSeveralRequests) {
    FakeServer server({reply(sync_ok), reply(R"({"type":"sync","metadata":["/1.0/profiles/default"]})")});
    ApiClient api(server.path());
    EXPECT_EQ(api.get("/1.0")["api_version"], "1.0");
    EXPECT_EQ(api.get("/1.0/profiles")[0], "/1.0/profiles/default");
    ASSERT_EQ(server.requests.size(), 2u);
    EXPECT_EQ(server.requests[0].rfind("GET /1.0 HTTP/1.1\r\nHost: unix.socket\r\n", 0), 0u);
}

TEST(CliHttp, ReadsChunkedAndCloseDelimitedBodies) {
    std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "10\r\n{\"type\":\"sync\",\"\r\n"
                          "10\r\nmetadata\":[1,2]}\r\n0\r\n\r\n";
    std::string until_close = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"type\":\"sync\",\"metadata\":3}";
    FakeServer server({chunked, until_close});
    UnixHttpClient http(server.path());
    EXPECT_EQ(http.request("GET", "/a").body, "{\"type\":\"sync\",\"metadata\":[1,2]}");
    auto r = http.request("GET", "/b");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"type\":\"sync\",\"metadata\":3}");
}

TEST(CliHttp, ServerErrorsComeOutAsLxdWordedThem) {
    std::string body = R"({"type":"error","error":"Instance not found","error_code":404,"metadata":null})";
    FakeServer server({"HTTP/1.1 404 Not Found\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body});
    ApiClient api(server.path());
    try {
        api.get("/1.0/instances/nope");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "Instance not found");
        EXPECT_EQ(e.exit_code(), 1);
    }
}

TEST(CliHttp, NoDaemonSaysSo) {
    ApiClient api("/tmp/lodge-cli-no-such-dir/unix.socket");
    try {
        api.get("/1.0");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cannot connect to lodged at /tmp/lodge-cli-no-such-dir/unix.socket: is it running?");
    }
}

TEST(CliHttp, EnvelopeUnwrapping) {
    EXPECT_EQ(unwrap_response(200, sync_ok)["api_version"], "1.0");
    auto async = unwrap_response(202, R"({"type":"async","operation":"/1.0/operations/x","metadata":{}})");
    EXPECT_EQ(async["operation"], "/1.0/operations/x");
    EXPECT_THROW(unwrap_response(502, "<html>bad gateway</html>"), Error);
    EXPECT_THROW(unwrap_response(500, R"({"type":"error","error":"","error_code":500})"), Error);
}

TEST(CliHttp, ParsesHeadsAndChunks) {
    auto head = parse_response_head("HTTP/1.1 201 Created\r\nContent-Length:  5 \r\nX-LXD-Type: file");
    EXPECT_EQ(head.status, 201);
    EXPECT_EQ(head.headers["content-length"], "5");
    EXPECT_EQ(head.headers["x-lxd-type"], "file");
    EXPECT_THROW(parse_response_head("SSH-2.0-OpenSSH"), std::runtime_error);
    std::string body;
    size_t used = 0;
    EXPECT_FALSE(decode_chunked("5\r\nhel", body, used));
    EXPECT_TRUE(decode_chunked("5\r\nhello\r\n0\r\n\r\nNEXT", body, used));
    EXPECT_EQ(body, "hello");
    EXPECT_EQ(used, 15u);
}

TEST(CliHttp, EscapesPathSegments) {
    EXPECT_EQ(url_escape("web-1.a_b~"), "web-1.a_b~");
    EXPECT_EQ(url_escape("a b/c?"), "a%20b%2Fc%3F");
}

} // namespace
} // namespace lodge::cli
