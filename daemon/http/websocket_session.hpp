// A WebSocket connection taken over from an HTTP session. Beast types
// appear here: only server.cpp and websocket_session.cpp include it.
#pragma once

#include "daemon/http/connections.hpp"
#include "daemon/http/websocket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>

namespace lodge::daemon {

// Does the handshake for request on socket, then calls on_open with the
// connection (on success only). The connection keeps itself alive while open.
void start_websocket(boost::asio::local::stream_protocol::socket socket,
                     boost::beast::http::request<boost::beast::http::string_body> request,
                     std::function<void(std::shared_ptr<WebSocket>)> on_open, ConnectionRegistry& registry);
// The same over HTTPS.
void start_websocket(boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream,
                     boost::beast::http::request<boost::beast::http::string_body> request,
                     std::function<void(std::shared_ptr<WebSocket>)> on_open, ConnectionRegistry& registry);

} // namespace lodge::daemon
