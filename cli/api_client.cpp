// Requests on lodged and the LXD error envelope: the server's message is
// what the user sees, so it is passed through unchanged.
#include "cli/api_client.hpp"

#include "cli/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lodge::cli {

ApiClient::ApiClient(std::string socket_path) : http_(std::move(socket_path)) {}
ApiClient::ApiClient(Endpoint endpoint) : http_(std::move(endpoint)) {}

std::string client_certificate_path() { return config_dir() + "/client.crt"; }
std::string client_key_path() { return config_dir() + "/client.key"; }
std::string server_certificate_path(const std::string& remote) { return config_dir() + "/servercerts/" + remote + ".crt"; }

nlohmann::json unwrap_response(int http_status, const std::string& body) {
    nlohmann::json envelope;
    try {
        envelope = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error&) {
        throw Error("the server answered HTTP " + std::to_string(http_status) + " without an LXD response" +
                    (body.empty() ? std::string() : ": " + body.substr(0, 200)));
    }
    if (!envelope.is_object()) throw Error("the server's answer is not an LXD response object");
    auto type = envelope.value("type", "");
    if (type == "error" || http_status >= 400) {
        auto message = envelope.value("error", "");
        if (message.empty()) message = "the server answered HTTP " + std::to_string(http_status);
        throw Error(message);
    }
    if (type == "sync") return envelope.contains("metadata") ? envelope["metadata"] : nlohmann::json(nullptr);
    if (type == "async") return envelope;
    throw Error("unknown response type \"" + type + "\" from the server");
}

nlohmann::json ApiClient::query(const std::string& method, const std::string& path, const nlohmann::json& body) {
    return send_raw(method, path, body.is_null() ? std::string() : body.dump(), {});
}

nlohmann::json ApiClient::wait(const nlohmann::json& async_answer) {
    auto url = async_answer.value("operation", "");
    if (url.empty()) throw Error("the server answered without an operation");
    auto op = get(url + "/wait");
    if (op.value("status", "") != "Success") {
        auto err = op.value("err", "");
        throw Error(err.empty() ? "operation " + op.value("status", "") : err);
    }
    return op;
}

nlohmann::json ApiClient::send_raw(const std::string& method, const std::string& path, const std::string& body,
                                   const std::map<std::string, std::string>& headers) {
    auto r = send(method, path, body, headers);
    return unwrap_response(r.status, r.body);
}

nlohmann::json ApiClient::send_file(const std::string& method, const std::string& path, const std::string& file,
                                    const std::map<std::string, std::string>& headers,
                                    const std::function<void(std::uint64_t sent, std::uint64_t total)>& progress) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw Error("open " + file + ": " + std::strerror(errno));
    struct stat st{};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) throw Error(file + " is not a regular file");
    const auto total = static_cast<std::uint64_t>(st.st_size);
    auto r = send_with([&] {
        return http_.request_streamed(method, path, fd.get(), total, headers, [&](std::uint64_t sent) {
            if (progress) progress(sent, total);
        });
    });
    return unwrap_response(r.status, r.body);
}

nlohmann::json ApiClient::send_chunked(const std::string& method, const std::string& path,
                                       const std::map<std::string, std::string>& headers,
                                       const std::function<void(const UnixHttpClient::ChunkSink& send)>& produce) {
    auto r = send_with([&] { return http_.request_chunked(method, path, headers, produce); });
    return unwrap_response(r.status, r.body);
}

HttpResponse ApiClient::raw(const std::string& method, const std::string& path, const std::string& body,
                            const std::map<std::string, std::string>& headers) {
    auto r = send(method, path, body, headers);
    if (r.status < 200 || r.status > 299) unwrap_response(r.status, r.body); // throws the server's message
    return r;
}

HttpResponse ApiClient::send(const std::string& method, const std::string& path, const std::string& body,
                             const std::map<std::string, std::string>& headers) {
    return send_with([&] { return http_.request(method, path, body, headers); });
}

HttpResponse ApiClient::send_with(const std::function<HttpResponse()>& exchange) {
    HttpResponse r;
    try {
        r = exchange();
    } catch (const ConnectError& e) {
        // The two causes people hit: lodged not started, or no right to
        // its socket.
        if (http_.endpoint().socket_path.empty())
            throw Error("cannot connect to " + http_.socket_path() + ": " + e.what());
        std::string why = e.error_number() == EACCES
                              ? "permission denied (run as root or as a member of the lodge group)"
                              : "is it running?";
        throw Error("cannot connect to lodged at " + http_.socket_path() + ": " + why);
    } catch (const std::runtime_error& e) {
        throw Error(std::string("talking to lodged at ") + http_.socket_path() + ": " + e.what());
    }
    return r;
}

ApiClient connect_remote(const ClientConfig& config, const std::string& remote) {
    auto it = config.remotes.find(remote);
    if (it == config.remotes.end()) throw Error("The remote \"" + remote + "\" doesn't exist");
    if (it->second.protocol == "simplestreams")
        throw Error("The remote \"" + remote + "\" is a simplestreams image server: it only lists and serves images");
    if (it->second.addr.rfind("https://", 0) != 0) return ApiClient(socket_path(it->second));
    TlsOptions tls;
    tls.client_certificate = client_certificate_path();
    tls.client_key = client_key_path();
    if (read_file_if_exists(tls.client_certificate).empty()) tls.client_certificate.clear();
    tls.pinned_certificate = read_file_if_exists(server_certificate_path(remote));
    try {
        return ApiClient(https_endpoint(it->second.addr, std::move(tls)));
    } catch (const std::runtime_error& e) {
        throw Error(std::string("remote ") + remote + ": " + e.what());
    }
}

std::string form_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string url_escape(const std::string& segment) {
    std::string out;
    for (unsigned char c : segment) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

} // namespace lodge::cli
