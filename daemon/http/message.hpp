// Requests and responses as the router and handlers see them, free of
// Boost.Beast so that only server.cpp pays for Beast's compile time and
// handlers can be unit-tested without a socket.
#pragma once

#include "api/response.hpp"
#include "daemon/http/websocket.hpp"

#include <unistd.h>

#include <functional>
#include <memory>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lodge::daemon {

// A request body the server wrote to a file (a VM disk upload): removed
// when the last holder lets go of it.
struct UploadedFile {
    std::string path;
    int fd = -1; // open for writing while the body arrives
    UploadedFile() = default;
    UploadedFile(const UploadedFile&) = delete;
    UploadedFile& operator=(const UploadedFile&) = delete;
    ~UploadedFile() {
        if (fd >= 0) ::close(fd);
        if (!path.empty()) ::unlink(path.c_str());
    }
};

struct Request {
    std::string method;                        // "GET", "PATCH", ...
    std::string path;                          // percent-decoded, without the query
    std::map<std::string, std::string> query;  // decoded; the last value of a repeated key wins
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    std::shared_ptr<UploadedFile> body_file; // instead of body, for uploads kept on disk
    bool local = false;                        // over the unix socket (not HTTPS)
    bool trusted = false;                      // decided by the listener (unix socket: yes)
    // HTTPS only: the client's certificate (PEM) and its SHA-256
    // fingerprint, "" when it sent none; and its address.
    std::string client_certificate;
    std::string client_fingerprint;
    std::string remote_address;
    std::map<std::string, std::string> params; // path parameters, filled by the router

    std::string query_value(const std::string& key, const std::string& fallback = "") const {
        auto it = query.find(key);
        return it == query.end() ? fallback : it->second;
    }
    const std::string& param(const std::string& name) const { return params.at(name); }
    // A header's value ("" when absent); `name` lower-case.
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; // extra headers
    // Set for a WebSocket endpoint: the server does the handshake (the
    // request must ask for the upgrade) and hands the connection over.
    std::function<void(std::shared_ptr<WebSocket>)> websocket;
};

// A reply that comes later, without holding an HTTP thread (operation
// /wait): start(respond) arranges for respond to be called exactly once,
// from any thread.
struct Deferred {
    std::function<void(std::function<void(api::Response)> respond)> start;
};

// What a handler returns: an API envelope (nearly always), raw bytes (the
// file API, metrics), a deferred envelope, or a WebSocket.
using Reply = std::variant<api::Response, HttpResponse, Deferred, WebSocketUpgrade>;

// The HTTP form of an envelope: sync 200, async 202, error its error_code;
// the body is compact JSON with a trailing newline, as LXD sends it.
HttpResponse to_http(const api::Response& response);

} // namespace lodge::daemon
