// Server WebSockets over the unix socket or HTTPS: a write queue (senders on any
// thread post to the connection's strand), a read loop that notices the
// peer closing, and close callbacks run exactly once.
#include "daemon/http/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <vector>

namespace lodge::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using local = asio::local::stream_protocol;
using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

namespace {

template <typename Stream>
class WsSession : public WebSocket, public Connection, public std::enable_shared_from_this<WsSession<Stream>> {
public:
    WsSession(Stream socket, ConnectionRegistry& registry) : ws_(std::move(socket)), registry_(registry) {
        registry_.add(this);
    }
    using std::enable_shared_from_this<WsSession<Stream>>::shared_from_this;
    using std::enable_shared_from_this<WsSession<Stream>>::weak_from_this;
    ~WsSession() override { registry_.remove(this); }

    void start(beast::http::request<beast::http::string_body> request,
               std::function<void(std::shared_ptr<WebSocket>)> on_open) {
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(beast::http::field::server, "lodged"); }));
        auto req = std::make_shared<beast::http::request<beast::http::string_body>>(std::move(request));
        ws_.async_accept(*req, [self = shared_from_this(), req, on_open = std::move(on_open)](beast::error_code ec) {
            if (ec) {
                spdlog::debug("websocket: handshake: {}", ec.message());
                return self->finish();
            }
            self->read();
            on_open(self);
        });
    }

    bool send_text(std::string message) override {
        if (closed_) return false;
        asio::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
            if (self->closed_) return;
            self->queue_.push_back(std::move(m));
            if (!self->writing_) self->write_next();
        });
        return true;
    }

    void close() override {
        asio::post(ws_.get_executor(), [self = shared_from_this()] { self->close_on_strand(); });
    }

    void on_close(std::function<void()> callback) override {
        {
            std::lock_guard lock(callbacks_mutex_);
            if (!finished_) {
                callbacks_.push_back(std::move(callback));
                return;
            }
        }
        callback();
    }

    std::shared_ptr<Connection> lock() override { return weak_from_this().lock(); }
    void shutdown() override { close(); }

private:
    void write_next() {
        writing_ = true;
        ws_.text(true);
        ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->queue_.pop_front();
            if (ec) return self->finish();
            if (!self->queue_.empty()) return self->write_next();
            self->writing_ = false;
            if (self->close_pending_) self->close_on_strand();
        });
    }

    // Messages from the client are not expected on the channels lodged
    // serves so far; reading keeps pings answered and notices the close.
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->finish();
            self->buffer_.consume(self->buffer_.size());
            self->read();
        });
    }

    void close_on_strand() {
        if (closed_ || closing_) return;
        if (writing_) { // let queued messages out first
            close_pending_ = true;
            return;
        }
        closing_ = true;
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code) { self->finish(); });
    }

    void finish() {
        closed_ = true;
        std::vector<std::function<void()>> callbacks;
        {
            std::lock_guard lock(callbacks_mutex_);
            if (finished_) return;
            finished_ = true;
            callbacks.swap(callbacks_);
        }
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
        for (auto& c : callbacks) c();
    }

    websocket::stream<Stream> ws_;
    ConnectionRegistry& registry_;
    beast::flat_buffer buffer_;
    std::deque<std::string> queue_;
    bool writing_ = false;
    bool closing_ = false;
    bool close_pending_ = false;
    std::atomic<bool> closed_{false};
    std::mutex callbacks_mutex_;
    bool finished_ = false;
    std::vector<std::function<void()>> callbacks_;
};

} // namespace

void start_websocket(local::socket socket, beast::http::request<beast::http::string_body> request,
                     std::function<void(std::shared_ptr<WebSocket>)> on_open, ConnectionRegistry& registry) {
    std::make_shared<WsSession<local::socket>>(std::move(socket), registry)
        ->start(std::move(request), std::move(on_open));
}

void start_websocket(TlsStream stream, beast::http::request<beast::http::string_body> request,
                     std::function<void(std::shared_ptr<WebSocket>)> on_open, ConnectionRegistry& registry) {
    std::make_shared<WsSession<TlsStream>>(std::move(stream), registry)->start(std::move(request), std::move(on_open));
}

} // namespace lodge::daemon
