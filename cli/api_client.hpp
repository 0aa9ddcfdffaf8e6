// lodged's REST API as the CLI sees it: requests on a remote, LXD's
// response envelope unwrapped, server errors turned into Error.
#pragma once

#include "cli/http_client.hpp"
#include "cli/remotes.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace lodge::cli {

class ApiClient {
public:
    explicit ApiClient(std::string socket_path);
    explicit ApiClient(Endpoint endpoint);

    // The metadata of a sync response. Throws Error with the server's
    // message for an error response ("Error: <message>" when printed) and
    // with a hint when lodged cannot be reached.
    nlohmann::json get(const std::string& path) { return query("GET", path); }
    nlohmann::json query(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);
    // A request whose body is raw bytes with its own headers (image upload).
    nlohmann::json send_raw(const std::string& method, const std::string& path, const std::string& body,
                            const std::map<std::string, std::string>& headers);
    // The same with the body streamed from a file (VM disks).
    nlohmann::json send_file(const std::string& method, const std::string& path, const std::string& file,
                             const std::map<std::string, std::string>& headers,
                             const std::function<void(std::uint64_t sent, std::uint64_t total)>& progress = {});
    // The same with a body made while it is sent (lodge migrate's tarball).
    nlohmann::json send_chunked(const std::string& method, const std::string& path,
                                const std::map<std::string, std::string>& headers,
                                const std::function<void(const UnixHttpClient::ChunkSink& send)>& produce);
    // A request whose answer is not an envelope (the file API): the raw
    // response when it is 2xx, Error with the server's message otherwise.
    HttpResponse raw(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
    // Waits for the operation an async answer started; its final object.
    // Throws Error with the operation's err when it failed.
    nlohmann::json wait(const nlohmann::json& async_answer);

    const std::string& socket_path() const { return http_.socket_path(); }
    UnixHttpClient& http() { return http_; }

private:
    HttpResponse send(const std::string& method, const std::string& path, const std::string& body,
                      const std::map<std::string, std::string>& headers);
    // Runs a request, turning connection failures into Error with a hint.
    HttpResponse send_with(const std::function<HttpResponse()>& exchange);
    UnixHttpClient http_;
};

// The client for a remote of the configuration. HTTPS remotes present
// the client certificate and expect the server certificate pinned in
// servercerts/NAME.crt (the system's CAs when there is none).
ApiClient connect_remote(const ClientConfig& config, const std::string& remote);

// The client certificate lodge presents to HTTPS remotes, in config_dir().
std::string client_certificate_path();
std::string client_key_path();
// Where a remote's server certificate is pinned (lxc's servercerts/NAME.crt).
std::string server_certificate_path(const std::string& remote);

// Unwraps an LXD response envelope: the metadata of a sync answer, the
// whole envelope of an async one; throws Error for an error answer. Exposed
// for the unit tests.
nlohmann::json unwrap_response(int http_status, const std::string& body);

// "/1.0/profiles/web 1" needs its name escaped; RFC 3986 unreserved
// characters pass.
std::string url_escape(const std::string& segment);
// Form encoding (application/x-www-form-urlencoded) of a key or value.
std::string form_escape(const std::string& s);

} // namespace lodge::cli
