// lodged's REST API as the CLI sees it: requests on a remote, LXD's
// response envelope unwrapped, server errors turned into Error.
#pragma once

#include "cli/http_client.hpp"
#include "cli/remotes.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::cli {

class ApiClient {
public:
    explicit ApiClient(std::string socket_path);

    // The metadata of a sync response. Throws Error with the server's
    // message for an error response ("Error: <message>" when printed) and
    // with a hint when lodged cannot be reached.
    nlohmann::json get(const std::string& path) { return query("GET", path); }
    nlohmann::json query(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr);

    // A request whose answer is not an envelope (the file API): the raw
    // response when it is 2xx, Error with the server's message otherwise.
    HttpResponse raw(const std::string& method, const std::string& path, const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

    const std::string& socket_path() const { return http_.socket_path(); }

private:
    HttpResponse send(const std::string& method, const std::string& path, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers);
    UnixHttpClient http_;
};

// The client for a remote of the configuration.
ApiClient connect_remote(const ClientConfig& config, const std::string& remote);

// Unwraps an LXD response envelope: the metadata of a sync answer, the
// whole envelope of an async one; throws Error for an error answer. Exposed
// for the unit tests.
nlohmann::json unwrap_response(int http_status, const std::string& body);

// "/1.0/profiles/web 1" needs its name escaped; RFC 3986 unreserved
// characters pass.
std::string url_escape(const std::string& segment);

} // namespace lodge::cli
