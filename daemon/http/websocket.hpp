// A server-side WebSocket as handlers see it (events, later exec and
// console), free of Beast like the rest of the handler interface.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace lodge::daemon {

class WebSocket {
public:
    virtual ~WebSocket() = default;
    // Queues a text message; thread-safe, never blocks. False once closed.
    virtual bool send_text(std::string message) = 0;
    // Starts a normal close; thread-safe.
    virtual void close() = 0;
    // Runs callback once the connection has ended (at once if it already
    // has); thread-safe.
    virtual void on_close(std::function<void()> callback) = 0;
};

// What a handler returns to take the connection over as a WebSocket:
// on_open runs after the handshake.
struct WebSocketUpgrade {
    std::function<void(std::shared_ptr<WebSocket>)> on_open;
};

} // namespace lodge::daemon
