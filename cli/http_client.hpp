// A small blocking HTTP/1.1 client over a unix socket: what `lodge` needs
// to talk to a local lodged (HTTPS remotes come with `remote add`).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// One connection, kept open between requests (a command often sends two:
// GET /1.0, then the resource), closed on destruction.
class UnixHttpClient {
public:
    explicit UnixHttpClient(std::string socket_path);
    ~UnixHttpClient();
    UnixHttpClient(const UnixHttpClient&) = delete;
    UnixHttpClient& operator=(const UnixHttpClient&) = delete;

    // Throws ConnectError when the socket cannot be reached and
    // std::runtime_error when the answer is not HTTP.
    // headers: extra ones (the file API's X-LXD-*); a Content-Type among
    // them replaces the default application/json.
    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

    const std::string& socket_path() const { return socket_path_; }

private:
    void connect();
    std::string read_some();
    // Reads the rest of the response whose head ends at head_end in raw.
    HttpResponse finish(std::string& raw, size_t head_end);

    std::string socket_path_;
    int fd_ = -1;
    std::string pending_; // bytes read beyond the previous response
};

// Parses a complete response head (status line and headers, without the
// blank line); exposed for the unit tests.
HttpResponse parse_response_head(const std::string& head);

// Decodes a chunked body held entirely in `raw`; returns false while more
// bytes are needed. `consumed` is how much of `raw` the body took.
bool decode_chunked(const std::string& raw, std::string& body, size_t& consumed);

} // namespace lodge::cli
