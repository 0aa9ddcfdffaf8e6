// A small blocking HTTP/1.1 client over a unix socket or HTTPS: what
// `lodge` needs to talk to a local lodged or a remote one.
#pragma once

#include "cli/tls.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <memory>
#include <stdexcept>
#include <string>

namespace lodge::cli {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
};

// The socket could not be reached: the daemon is not running, or the path
// is wrong. Kept apart from other failures so the message can say so.
class ConnectError : public std::runtime_error {
public:
    explicit ConnectError(const std::string& message, int error_number = 0)
        : std::runtime_error(message), error_number_(error_number) {}
    int error_number() const { return error_number_; } // errno of connect(2)

private:
    int error_number_;
};

// Where a client connects: a unix socket, or host and port with TLS.
struct Endpoint {
    std::string socket_path; // unix socket; empty for HTTPS
    std::string host;
    std::string port;
    TlsOptions tls;

    // "/var/lib/lodge/unix.socket" or "https://host:port", for messages.
    std::string describe() const;
};

// "https://host:port" (port 8443 when absent, [v6] in brackets) as an
// endpoint with the given TLS options; throws std::runtime_error otherwise.
Endpoint https_endpoint(const std::string& url, TlsOptions tls);

// One connection, kept open between requests (a command often sends two:
// GET /1.0, then the resource), closed on destruction.
class UnixHttpClient {
public:
    explicit UnixHttpClient(std::string socket_path);
    explicit UnixHttpClient(Endpoint endpoint);
    ~UnixHttpClient();
    UnixHttpClient(const UnixHttpClient&) = delete;
    UnixHttpClient& operator=(const UnixHttpClient&) = delete;

    // Throws ConnectError when the socket cannot be reached and
    // std::runtime_error when the answer is not HTTP.
    // `headers` are added to the request; a Content-Type there replaces
    // the JSON one (image uploads send raw bytes).
    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {});

    // The same with a body of `size` bytes read from `fd` while it is sent
    // (a VM disk: never whole in memory); `progress` hears the bytes sent.
    HttpResponse request_streamed(const std::string& method, const std::string& target, int fd, std::uint64_t size,
                                  const std::map<std::string, std::string>& headers,
                                  const std::function<void(std::uint64_t sent)>& progress = {});

    // A body of unknown length sent as it is made (chunked): `produce`
    // calls `send` with each piece; send returns false once the connection
    // broke (the server refused), and produce should stop then.
    using ChunkSink = std::function<bool(std::string_view data)>;
    HttpResponse request_chunked(const std::string& method, const std::string& target,
                                 const std::map<std::string, std::string>& headers,
                                 const std::function<void(const ChunkSink& send)>& produce);

    const std::string& socket_path() const { return socket_path_; }
    const Endpoint& endpoint() const { return endpoint_; }

    // The server certificate of the current connection (HTTPS), connecting
    // when there is none yet.
    std::string peer_certificate();

private:
    void connect();
    void connect_tcp();
    void disconnect();
    std::string read_some();
    bool send_all(std::string_view data);
    std::string request_head(const std::string& method, const std::string& target,
                             std::optional<std::uint64_t> content_length,
                             const std::map<std::string, std::string>& headers) const;
    // The answer to what was sent; nullopt when the connection closed
    // before any of it arrived.
    std::optional<HttpResponse> read_answer(bool broken);
    // Reads the rest of the response whose head ends at head_end in raw.
    HttpResponse finish(std::string& raw, size_t head_end);

    Endpoint endpoint_;
    std::string socket_path_; // endpoint_.describe()
    int fd_ = -1;
    std::unique_ptr<TlsConnection> tls_;
    std::string pending_; // bytes read beyond the previous response
};

// Parses a complete response head (status line and headers, without the
// blank line); exposed for the unit tests.
HttpResponse parse_response_head(const std::string& head);

// Decodes a chunked body held entirely in `raw`; returns false while more
// bytes are needed. `consumed` is how much of `raw` the body took.
bool decode_chunked(const std::string& raw, std::string& body, size_t& consumed);

} // namespace lodge::cli
