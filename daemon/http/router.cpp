// Path matching, dispatch and error mapping.
#include "daemon/http/router.hpp"

#include "common/error.hpp"

#include <spdlog/spdlog.h>

#include <future>
#include <memory>
#include <optional>

namespace lodge::daemon {

namespace {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    size_t start = 1;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        out.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    // "/1.0/" is "/1.0": clients are inconsistent about the trailing slash.
    if (out.size() > 1 && out.back().empty()) out.pop_back();
    if (out.size() == 1 && out.front().empty()) out.clear(); // "/"
    return out;
}

bool is_param(const std::string& segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

HttpResponse error_http(int status, const std::string& message) {
    return to_http(api::error_response(status, message));
}

} // namespace

HttpResponse to_http(const api::Response& response) {
    HttpResponse out;
    nlohmann::json j = response;
    out.body = j.dump() + "\n";
    if (response.type == "error")
        out.status = response.error_code;
    else if (response.type == "async")
        out.status = 202;
    else
        out.status = 200;
    return out;
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler, Access access) {
    auto segments = split_path(pattern);
    for (auto& r : routes_) {
        if (r.segments != segments) continue;
        if (!r.handlers.emplace(method, Route::Entry{std::move(handler), access}).second)
            throw Error(500, "route " + method + " " + pattern + " added twice");
        return;
    }
    routes_.push_back(Route{std::move(segments), {{method, Route::Entry{std::move(handler), access}}}});
}

const Router::Route* Router::match(const std::string& path, std::map<std::string, std::string>& params) const {
    auto segments = split_path(path);
    // Literal matches win over parameters (/1.0/images/aliases before
    // /1.0/images/{fingerprint}): pick the route with the most literals.
    const Route* best = nullptr;
    int best_literals = -1;
    std::map<std::string, std::string> best_params;
    for (const auto& r : routes_) {
        if (r.segments.size() != segments.size()) continue;
        std::map<std::string, std::string> p;
        int literals = 0;
        bool ok = true;
        for (size_t i = 0; i < segments.size() && ok; ++i) {
            if (is_param(r.segments[i])) {
                if (segments[i].empty()) ok = false;
                else p[r.segments[i].substr(1, r.segments[i].size() - 2)] = segments[i];
            } else if (r.segments[i] == segments[i]) {
                ++literals;
            } else {
                ok = false;
            }
        }
        if (ok && literals > best_literals) {
            best = &r;
            best_literals = literals;
            best_params = std::move(p);
        }
    }
    if (best) params = std::move(best_params);
    return best;
}

namespace {

// The error envelope for whatever a handler threw; logs server-side faults.
HttpResponse error_from_exception(const Request& request, std::exception_ptr ex) {
    try {
        std::rethrow_exception(ex);
    } catch (const Error& e) {
        if (e.status() >= 500)
            spdlog::error("{} {}: {}", request.method, request.path, e.what());
        else
            spdlog::debug("{} {}: {} {}", request.method, request.path, e.status(), e.what());
        return error_http(e.status(), e.what());
    } catch (const nlohmann::json::exception& e) {
        // Wrong JSON types in a request body (a list where an object
        // belongs): the client's mistake.
        spdlog::debug("{} {}: {}", request.method, request.path, e.what());
        return error_http(400, std::string("Invalid request: ") + e.what());
    } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", request.method, request.path, e.what());
        return error_http(500, e.what());
    }
}

} // namespace

void Router::dispatch(Request& request, std::function<void(HttpResponse)> respond) const {
    const Route* route = match(request.path, request.params);
    // An untrusted caller learns nothing about which paths exist (LXD
    // answers 403 before routing too).
    auto forbidden = [&] { return respond(error_http(403, "not authorized")); };
    if (!route) return request.trusted ? respond(error_http(404, "not found")) : forbidden();
    auto it = route->handlers.find(request.method);
    if (!request.trusted && (it == route->handlers.end() || it->second.access != Access::Untrusted))
        return forbidden();
    if (it == route->handlers.end()) {
        auto response = error_http(405, "method " + request.method + " not allowed on " + request.path);
        std::string allow;
        for (const auto& [m, h] : route->handlers) allow += (allow.empty() ? "" : ", ") + m;
        response.headers.emplace_back("Allow", allow);
        return respond(std::move(response));
    }
    std::optional<Reply> reply;
    try {
        reply = it->second.handler(request);
    } catch (...) {
        return respond(error_from_exception(request, std::current_exception()));
    }
    if (auto* api_response = std::get_if<api::Response>(&*reply)) return respond(to_http(*api_response));
    if (auto* raw = std::get_if<HttpResponse>(&*reply)) return respond(std::move(*raw));
    if (auto* upgrade = std::get_if<WebSocketUpgrade>(&*reply)) {
        HttpResponse response;
        response.status = 101;
        response.websocket = std::move(upgrade->on_open);
        return respond(std::move(response));
    }
    // Deferred: the handler's start() owns the answer from here; what it
    // throws before handing over is still answered here.
    auto shared_respond = std::make_shared<std::function<void(HttpResponse)>>(std::move(respond));
    try {
        std::get<Deferred>(*reply).start(
            [shared_respond](api::Response response) { (*shared_respond)(to_http(response)); });
    } catch (...) {
        (*shared_respond)(error_from_exception(request, std::current_exception()));
    }
}

HttpResponse Router::dispatch(Request& request) const {
    std::promise<HttpResponse> promise;
    auto future = promise.get_future();
    dispatch(request, [&promise](HttpResponse r) { promise.set_value(std::move(r)); });
    return future.get();
}

nlohmann::json json_body(const Request& request) {
    if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return nullptr;
    try {
        return nlohmann::json::parse(request.body);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(400, std::string("Invalid JSON in request body: ") + e.what());
    }
}

int recursion(const Request& request) {
    auto v = request.query_value("recursion", "0");
    if (v == "0" || v.empty()) return 0;
    if (v == "1") return 1;
    if (v == "2") return 2;
    throw Error(400, "Invalid recursion value \"" + v + "\": use 0, 1 or 2");
}

} // namespace lodge::daemon
