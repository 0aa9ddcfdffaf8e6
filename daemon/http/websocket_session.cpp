// Server WebSockets over the unix socket or HTTPS: a write queue of text and
// binary messages (senders on any thread post to the connection's strand), a
// read loop that hands messages to the handler and notices the peer closing,
// and close callbacks run exactly once.
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
        ws_.async_accept(*req, [self = this->shared_from_this(), req, on_open = std::move(on_open)](beast::error_code ec) {
            if (ec) {
                spdlog::debug("websocket: handshake: {}", ec.message());
                return self->finish();
            }
            on_open(self); // may set on_message: reading starts after
            self->read();
        });
    }

    bool send_text(std::string message) override { return send(std::move(message), false); }
    bool send_binary(std::string data) override { return send(std::move(data), true); }
    std::size_t queued_bytes() const override { return queued_bytes_.load(); }

    void on_message(std::function<void(std::string, bool)> callback) override {
        std::lock_guard lock(callbacks_mutex_);
        on_message_ = std::move(callback);
    }

    void close() override {
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->close_on_strand(); });
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

    std::shared_ptr<Connection> lock() override { return this->weak_from_this().lock(); }
    void shutdown() override { close(); }

private:
    struct Outgoing {
        std::string data;
        bool binary;
    };

    bool send(std::string data, bool binary) {
        if (closed_) return false;
        queued_bytes_ += data.size();
        asio::post(ws_.get_executor(), [self = this->shared_from_this(), m = Outgoing{std::move(data), binary}]() mutable {
            if (self->closed_ || self->closing_) {
                self->queued_bytes_ -= m.data.size();
                return;
            }
            self->queue_.push_back(std::move(m));
            if (!self->writing_) self->write_next();
        });
        return true;
    }

    void write_next() {
        writing_ = true;
        ws_.binary(queue_.front().binary);
        ws_.async_write(asio::buffer(queue_.front().data), [self = this->shared_from_this()](beast::error_code ec,
                                                                                        std::size_t) {
            self->queued_bytes_ -= self->queue_.front().data.size();
            self->queue_.pop_front();
            if (ec) return self->finish();
            if (!self->queue_.empty()) return self->write_next();
            self->writing_ = false;
            if (self->close_pending_) self->close_on_strand();
        });
    }

    // Reading also keeps pings answered and notices the close.
    void read() {
        ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->finish();
            std::function<void(std::string, bool)> handler;
            {
                std::lock_guard lock(self->callbacks_mutex_);
                handler = self->on_message_;
            }
            if (handler) handler(beast::buffers_to_string(self->buffer_.data()), self->ws_.got_binary());
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
                        [self = this->shared_from_this()](beast::error_code) { self->finish(); });
    }

    void finish() {
        closed_ = true;
        std::vector<std::function<void()>> callbacks;
        {
            std::lock_guard lock(callbacks_mutex_);
            if (finished_) return;
            finished_ = true;
            callbacks.swap(callbacks_);
            on_message_ = nullptr; // handlers often hold the session: break the cycle
        }
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).close(ignored);
        for (auto& c : callbacks) c();
    }

    websocket::stream<Stream> ws_;
    ConnectionRegistry& registry_;
    beast::flat_buffer buffer_;
    std::deque<Outgoing> queue_;
    std::atomic<std::size_t> queued_bytes_{0};
    bool writing_ = false;
    bool closing_ = false;
    bool close_pending_ = false;
    std::atomic<bool> closed_{false};
    std::mutex callbacks_mutex_;
    bool finished_ = false;
    std::vector<std::function<void()>> callbacks_;
    std::function<void(std::string, bool)> on_message_;
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
