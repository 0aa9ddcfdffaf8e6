// Routes requests to handlers by method and path pattern ("/1.0/profiles/{name}"),
// and turns whatever a handler throws into LXD's error envelope.
#pragma once

#include "daemon/http/message.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lodge::daemon {

using Handler = std::function<Reply(Request&)>;

// Who may call a route. Callers on the unix socket and HTTPS clients whose
// certificate is in the trust store are trusted; others reach only the
// routes that admit them (GET /1.0, adding a certificate with a token,
// operation websockets with their secret) and get 403 elsewhere.
enum class Access { Trusted, Untrusted };

class Router {
public:
    // A pattern is an absolute path whose segments are literals or {param};
    // a {param} matches one non-empty segment. Adding the same method and
    // pattern twice is a bug and throws.
    void add(const std::string& method, const std::string& pattern, Handler handler, Access access = Access::Trusted);

    // Calls respond exactly once: at once, or later from another thread for
    // a deferred reply. Never throws: unknown paths give 404 "not found",
    // known paths with another method 405, untrusted callers of a trusted
    // route 403 "not authorized", handler errors their
    // lodge::Error status (bad JSON and wrong JSON types 400, anything else 500).
    void dispatch(Request& request, std::function<void(HttpResponse)> respond) const;

    // The same, waiting for deferred replies: for tests and callers that may block.
    HttpResponse dispatch(Request& request) const;

private:
    struct Route {
        std::vector<std::string> segments;
        struct Entry {
            Handler handler;
            Access access;
        };
        std::map<std::string, Entry> handlers; // by method
    };
    const Route* match(const std::string& path, std::map<std::string, std::string>& params) const;

    std::vector<Route> routes_;
};

// The request body as JSON. An empty body or the literal `null` gives null
// (Ansible sends `null` on GET and DELETE); invalid JSON throws Error(400).
nlohmann::json json_body(const Request& request);

// The `recursion` query parameter: 0 when absent; Error(400) when not 0-2.
int recursion(const Request& request);

} // namespace lodge::daemon
