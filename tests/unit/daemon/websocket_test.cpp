// Server websockets through the real unix-socket server, driven by lodge's
// own client: binary and text both ways, fragments and big messages, the
// server's close after what it queued, and the client's close seen by the
// server.
#include "cli/websocket_client.hpp"
#include "daemon/http/server.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <thread>

using namespace lodge::daemon;
using lodge::cli::WebSocketClient;

namespace {

class DaemonWebSocket : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lodge-unit-ws-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        // Echoes each message with its type; "bye" makes the server send
        // "last" and close.
        router_.add("GET", "/echo", [this](Request&) -> Reply {
            return WebSocketUpgrade{[this](std::shared_ptr<WebSocket> ws) {
                std::weak_ptr<WebSocket> weak = ws;
                ws->on_message([weak](std::string data, bool binary) {
                    auto ws = weak.lock();
                    if (!ws) return;
                    if (!binary && data == "bye") {
                        ws->send_text("last");
                        ws->close();
                    } else if (binary) {
                        ws->send_binary(std::move(data));
                    } else {
                        ws->send_text(std::move(data));
                    }
                });
                ws->on_close([this] { closed_.set_value(); });
            }};
        });
        server_ = std::make_unique<UnixServer>(router_, dir_ + "/unix.socket");
        runner_ = std::thread([this] { server_->run(); });
    }
    void TearDown() override {
        server_->stop();
        runner_.join();
        server_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::string dir_;
    Router router_;
    std::promise<void> closed_;
    std::unique_ptr<UnixServer> server_;
    std::thread runner_;
};

} // namespace

TEST_F(DaemonWebSocket, EchoesBinaryAndTextThenClosesAfterTheQueue) {
    auto client = std::make_unique<WebSocketClient>(dir_ + "/unix.socket", "/echo");
    auto& ws = *client;
    std::string big(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
    ws.send(big, WebSocketClient::Binary);
    ws.send("", WebSocketClient::Text); // LXD's barrier: an empty text message
    ws.send("hello", WebSocketClient::Text);
    auto m = ws.receive();
    EXPECT_EQ(m.opcode, WebSocketClient::Binary);
    EXPECT_TRUE(m.data == big);
    m = ws.receive();
    EXPECT_EQ(m.opcode, WebSocketClient::Text);
    EXPECT_EQ(m.data, "");
    m = ws.receive();
    EXPECT_EQ(m.data, "hello");
    ws.send("bye", WebSocketClient::Text);
    m = ws.receive();
    EXPECT_EQ(m.data, "last");
    EXPECT_EQ(ws.receive().opcode, WebSocketClient::Close);
    // The server's side of the close handshake ends when the client hangs up.
    client.reset();
    EXPECT_EQ(closed_.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_F(DaemonWebSocket, ClientCloseReachesTheServer) {
    {
        WebSocketClient ws(dir_ + "/unix.socket", "/echo");
        ws.send("x", WebSocketClient::Binary);
        EXPECT_EQ(ws.receive().data, "x");
        ws.close();
        EXPECT_EQ(ws.receive().opcode, WebSocketClient::Close);
    }
    EXPECT_EQ(closed_.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(WebSocketFrames, EncodeAndParse) {
    for (std::size_t n : {0u, 5u, 125u, 126u, 65535u, 65536u, 200000u}) {
        std::string payload(n, 'a');
        for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i);
        auto frame = lodge::cli::encode_frame(2, payload, 0x12345678);
        std::uint8_t op;
        bool fin;
        std::string out;
        EXPECT_EQ(lodge::cli::parse_frame(frame.substr(0, frame.size() - 1), op, fin, out), 0u) << n;
        ASSERT_EQ(lodge::cli::parse_frame(frame, op, fin, out), frame.size()) << n;
        EXPECT_EQ(op, 2);
        EXPECT_TRUE(fin);
        EXPECT_TRUE(out == payload) << n;
    }
}
