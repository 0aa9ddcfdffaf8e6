// A minimal blocking RFC 6455 WebSocket client over a unix socket: what
// `lodge exec` and `lodge console` need to talk to a local lodged's
// operation websockets (no extensions, no TLS).
#pragma once

#include <cstdint>
#include <string>

namespace lodge::cli {

class WebSocketClient {
public:
    enum Opcode : std::uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };
    struct Message {
        Opcode opcode = Close; // Text, Binary or Close (the peer's close, or the connection's end)
        std::string data;
    };

    // Connects and does the handshake for target (e.g.
    // "/1.0/operations/ID/websocket?secret=S"); throws std::runtime_error.
    WebSocketClient(const std::string& socket_path, const std::string& target);
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient&) = delete;
    WebSocketClient& operator=(const WebSocketClient&) = delete;

    void send(const std::string& data, Opcode opcode = Binary);
    // Blocks for the next whole message; pings are answered on the way.
    Message receive();
    // True when a whole frame may be parsed without reading (poll(2) on
    // fd() would not show it).
    bool has_buffered() const { return !buffer_.empty(); }
    // Sends a close frame (once); the connection stays readable for the
    // peer's answer.
    void close();
    int fd() const { return fd_; }

private:
    void read_more();
    void write_all(const std::string& bytes);

    int fd_ = -1;
    std::string buffer_; // bytes read and not yet parsed
    bool close_sent_ = false;
    bool eof_ = false;
};

// A client frame (masked with key) and the parse of a server frame:
// exposed for the unit tests. parse returns 0 while more bytes are needed,
// else the frame's size.
std::string encode_frame(std::uint8_t opcode, const std::string& payload, std::uint32_t key, bool fin = true);
std::size_t parse_frame(const std::string& bytes, std::uint8_t& opcode, bool& fin, std::string& payload);

} // namespace lodge::cli
