// The WebSocket client: handshake, masked frames out, unmasked frames in,
// fragments joined, pings answered.
#include "cli/websocket_client.hpp"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lodge::cli {

namespace {

std::string base64(const unsigned char* data, std::size_t n) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < n; i += 3) {
        unsigned v = data[i] << 16 | (i + 1 < n ? data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
        out += table[v >> 18 & 63];
        out += table[v >> 12 & 63];
        out += i + 1 < n ? table[v >> 6 & 63] : '=';
        out += i + 2 < n ? table[v & 63] : '=';
    }
    return out;
}

void random_bytes(void* buf, std::size_t n) {
    auto* p = static_cast<unsigned char*>(buf);
    while (n > 0) {
        ssize_t got = ::getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
        }
        p += got;
        n -= static_cast<std::size_t>(got);
    }
}

} // namespace

std::string encode_frame(std::uint8_t opcode, const std::string& payload, std::uint32_t key, bool fin) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | opcode);
    const std::uint64_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(0x80 | n);
    } else if (n <= 0xffff) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>(n >> shift);
    }
    const unsigned char mask[4] = {static_cast<unsigned char>(key >> 24), static_cast<unsigned char>(key >> 16),
                                   static_cast<unsigned char>(key >> 8), static_cast<unsigned char>(key)};
    f.append(reinterpret_cast<const char*>(mask), 4);
    const std::size_t start = f.size();
    f += payload;
    for (std::size_t i = 0; i < payload.size(); ++i) f[start + i] = static_cast<char>(f[start + i] ^ mask[i % 4]);
    return f;
}

std::size_t parse_frame(const std::string& b, std::uint8_t& opcode, bool& fin, std::string& payload) {
    if (b.size() < 2) return 0;
    const auto* u = reinterpret_cast<const unsigned char*>(b.data());
    fin = u[0] & 0x80;
    opcode = u[0] & 0x0f;
    const bool masked = u[1] & 0x80;
    std::uint64_t n = u[1] & 0x7f;
    std::size_t pos = 2;
    if (n == 126) {
        if (b.size() < 4) return 0;
        n = static_cast<std::uint64_t>(u[2]) << 8 | u[3];
        pos = 4;
    } else if (n == 127) {
        if (b.size() < 10) return 0;
        n = 0;
        for (int i = 0; i < 8; ++i) n = n << 8 | u[2 + i];
        pos = 10;
    }
    unsigned char mask[4] = {0, 0, 0, 0};
    if (masked) {
        if (b.size() < pos + 4) return 0;
        std::memcpy(mask, u + pos, 4);
        pos += 4;
    }
    if (b.size() - pos < n) return 0;
    payload.assign(b, pos, n);
    if (masked)
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    return pos + n;
}

WebSocketClient::WebSocketClient(const std::string& socket_path, const std::string& target) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + socket_path);
    socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect " + socket_path + ": " + std::strerror(e));
    }
    unsigned char nonce[16];
    random_bytes(nonce, sizeof nonce);
    write_all("GET " + target +
              " HTTP/1.1\r\nHost: unix.socket\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
              base64(nonce, sizeof nonce) + "\r\n\r\n");
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        read_more();
        if (eof_) throw std::runtime_error("the server closed the connection during the websocket handshake");
    }
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("websocket handshake refused: " + head.substr(0, head.find('\r')));
    }
}

WebSocketClient::~WebSocketClient() {
    if (fd_ >= 0) ::close(fd_);
}

void WebSocketClient::write_all(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("websocket send: ") + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

void WebSocketClient::read_more() {
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            eof_ = true;
            return;
        }
        buffer_.append(buf, static_cast<std::size_t>(n));
        return;
    }
}

void WebSocketClient::send(const std::string& data, Opcode opcode) {
    std::uint32_t key;
    random_bytes(&key, sizeof key);
    write_all(encode_frame(opcode, data, key));
}

void WebSocketClient::close() {
    if (close_sent_) return;
    close_sent_ = true;
    try {
        send(std::string("\x03\xe8", 2), Close); // 1000: normal closure
    } catch (const std::exception&) {
        // The peer is gone already: nothing left to tell it.
    }
}

WebSocketClient::Message WebSocketClient::receive() {
    Message msg;
    bool started = false;
    for (;;) {
        std::uint8_t opcode;
        bool fin;
        std::string payload;
        std::size_t used = parse_frame(buffer_, opcode, fin, payload);
        if (used == 0) {
            if (eof_) return Message{Close, {}};
            read_more();
            continue;
        }
        buffer_.erase(0, used);
        if (opcode == Ping) {
            send(payload, Pong);
            continue;
        }
        if (opcode == Pong) continue;
        if (opcode == Close) {
            close();
            return Message{Close, payload};
        }
        if (!started) {
            msg.opcode = static_cast<Opcode>(opcode);
            started = true;
        }
        msg.data += payload;
        if (fin) return msg;
    }
}

} // namespace lodge::cli
