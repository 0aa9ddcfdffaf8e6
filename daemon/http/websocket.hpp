// A server-side WebSocket as handlers see it (events, exec, console), free
// of Beast like the rest of the handler interface.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace lodge::daemon {

class WebSocket {
public:
    virtual ~WebSocket() = default;
    // Queue a message; thread-safe, never blocks. False once closed.
    virtual bool send_text(std::string message) = 0;
    virtual bool send_binary(std::string data) = 0;
    // Bytes queued and not yet written: lets a producer slow down.
    virtual std::size_t queued_bytes() const = 0;
    // Starts a normal close once what is queued has been written; thread-safe.
    virtual void close() = 0;
    // Runs callback once the connection has ended (at once if it already
    // has); thread-safe.
    virtual void on_close(std::function<void()> callback) = 0;
    // Receives every message from the peer (binary true for binary frames),
    // on an I/O thread, in order. Set it in on_open: reading starts after
    // on_open returns, so nothing is missed. Without one, messages are
    // dropped.
    virtual void on_message(std::function<void(std::string data, bool binary)> callback) = 0;
};

// What a handler returns to take the connection over as a WebSocket:
// on_open runs after the handshake.
struct WebSocketUpgrade {
    std::function<void(std::shared_ptr<WebSocket>)> on_open;
};

} // namespace lodge::daemon
