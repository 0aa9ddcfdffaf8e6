// The HTTP/1.1 client, over a unix socket or TLS. lodged (Boost.Beast) answers with
// Content-Length; chunked bodies and read-until-close are handled too so
// another LXD-compatible server works as well.
#include "cli/http_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lodge::cli {

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// connect(2) that gives up after timeout_ms: a token may list addresses
// that are not routable from here, and the next one should get its turn.
bool connect_with_timeout(int fd, const sockaddr* addr, socklen_t len, int timeout_ms, int& err) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    bool ok = ::connect(fd, addr, len) == 0;
    if (!ok && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, timeout_ms);
        int so_error = ETIMEDOUT;
        socklen_t so_len = sizeof so_error;
        if (n > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
        ok = so_error == 0;
        errno = so_error;
    }
    if (!ok) err = errno;
    ::fcntl(fd, F_SETFL, flags);
    return ok;
}

} // namespace

std::string Endpoint::describe() const {
    if (!socket_path.empty()) return socket_path;
    return "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

Endpoint https_endpoint(const std::string& url, TlsOptions tls) {
    if (url.rfind("https://", 0) != 0) throw std::runtime_error("not an https:// URL: " + url);
    std::string rest = url.substr(8);
    if (auto slash = rest.find('/'); slash != std::string::npos) rest.erase(slash);
    Endpoint e;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string::npos) throw std::runtime_error("bad address in " + url);
        e.host = rest.substr(1, close - 1);
        rest.erase(0, close + 1);
        e.port = rest.rfind(':', 0) == 0 ? rest.substr(1) : "8443";
    } else {
        auto colon = rest.rfind(':');
        e.host = rest.substr(0, colon);
        e.port = colon == std::string::npos ? "8443" : rest.substr(colon + 1);
    }
    if (e.host.empty() || e.port.empty()) throw std::runtime_error("bad address in " + url);
    e.tls = std::move(tls);
    e.tls.host = e.host;
    return e;
}

UnixHttpClient::UnixHttpClient(std::string socket_path) : socket_path_(socket_path) {
    endpoint_.socket_path = std::move(socket_path);
}

UnixHttpClient::UnixHttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)), socket_path_(endpoint_.describe()) {}

UnixHttpClient::~UnixHttpClient() { disconnect(); }

void UnixHttpClient::disconnect() {
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::string UnixHttpClient::peer_certificate() {
    if (fd_ < 0) connect();
    return tls_ ? tls_->peer_certificate() : "";
}

void UnixHttpClient::connect_tcp() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(endpoint_.host.c_str(), endpoint_.port.c_str(), &hints, &list);
    if (rc != 0) throw ConnectError(std::string("resolving ") + endpoint_.host + ": " + ::gai_strerror(rc));
    int err = 0;
    for (addrinfo* a = list; a; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect_with_timeout(fd, a->ai_addr, a->ai_addrlen, 10000, err)) {
            fd_ = fd;
            break;
        }
        ::close(fd);
    }
    ::freeaddrinfo(list);
    if (fd_ < 0) throw ConnectError(std::strerror(err), err);
    pending_.clear();
    try {
        tls_ = std::make_unique<TlsConnection>(fd_, endpoint_.tls);
    } catch (...) {
        disconnect();
        throw;
    }
}

void UnixHttpClient::connect() {
    if (endpoint_.socket_path.empty()) return connect_tcp();
    sockaddr_un addr{};
    if (socket_path_.size() >= sizeof addr.sun_path)
        throw ConnectError("socket path too long: " + socket_path_);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    addr.sun_family = AF_UNIX;
    socket_path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        throw ConnectError(std::strerror(err), err);
    }
    fd_ = fd;
    pending_.clear();
}

std::string UnixHttpClient::read_some() {
    char buf[65536];
    if (tls_) return std::string(buf, tls_->read(buf, sizeof buf));
    for (;;) {
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) return std::string(buf, static_cast<size_t>(n));
        if (n == 0) return {};
        if (errno != EINTR) throw std::runtime_error("reading from " + socket_path_ + ": " + std::strerror(errno));
    }
}

HttpResponse parse_response_head(const std::string& head) {
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12)
        throw std::runtime_error("not an HTTP response: " + head.substr(0, 80));
    HttpResponse r;
    r.status = std::stoi(head.substr(9, 3));
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
        size_t next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        pos = next;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
        r.headers[lower(line.substr(0, colon))] = value;
    }
    return r;
}

bool decode_chunked(const std::string& raw, std::string& body, size_t& consumed) {
    body.clear();
    size_t pos = 0;
    for (;;) {
        size_t eol = raw.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16); // extensions after ';' stop stoul
        pos = eol + 2;
        if (size == 0) {
            // Trailers end with an empty line; lodged sends none.
            size_t end = raw.find("\r\n", pos);
            while (end != std::string::npos && end != pos) {
                pos = end + 2;
                end = raw.find("\r\n", pos);
            }
            if (end == std::string::npos) return false;
            consumed = end + 2;
            return true;
        }
        if (raw.size() < pos + size + 2) return false;
        body.append(raw, pos, size);
        pos += size + 2;
    }
}

HttpResponse UnixHttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                     const std::map<std::string, std::string>& headers) {
    // A kept-open connection the server has since closed fails on first
    // use; one retry on a fresh connection covers it (requests here are
    // sent once per command and GETs are idempotent; a write is only
    // retried when nothing of the answer arrived).
    const bool has_body = !body.empty() || method == "PUT" || method == "PATCH" || method == "POST";
    for (int attempt = 0;; ++attempt) {
        bool fresh = fd_ < 0;
        if (fresh) connect();
        bool broken = !send_all(request_head(method, target, has_body ? std::optional(body.size()) : std::nullopt,
                                             headers) +
                                body);
        if (auto r = read_answer(broken)) return *r;
        if (!fresh && attempt == 0) continue;
        throw std::runtime_error("connection to " + socket_path_ + " closed before a response");
    }
}

HttpResponse UnixHttpClient::request_streamed(const std::string& method, const std::string& target, int fd,
                                              std::uint64_t size, const std::map<std::string, std::string>& headers,
                                              const std::function<void(std::uint64_t sent)>& progress) {
    // A fresh connection: the body cannot be sent twice.
    disconnect();
    connect();
    bool broken = !send_all(request_head(method, target, size, headers));
    std::string chunk(1 << 20, '\0');
    std::uint64_t sent = 0;
    while (!broken && sent < size) {
        ssize_t n = ::read(fd, chunk.data(), std::min<std::uint64_t>(chunk.size(), size - sent));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("reading the file to upload: " + std::string(n < 0 ? std::strerror(errno) : "it ended early"));
        broken = !send_all(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
        sent += static_cast<std::uint64_t>(n);
        if (progress) progress(sent);
    }
    // The server may have answered early (refused the upload): read it.
    if (auto r = read_answer(broken)) return *r;
    throw std::runtime_error("connection to " + socket_path_ + " closed before a response");
}

HttpResponse UnixHttpClient::request_chunked(const std::string& method, const std::string& target,
                                             const std::map<std::string, std::string>& headers,
                                             const std::function<void(const ChunkSink& send)>& produce) {
    disconnect();
    connect();
    auto all = headers;
    all["Transfer-Encoding"] = "chunked";
    bool broken = !send_all(request_head(method, target, std::nullopt, all));
    char size_line[32];
    auto send = [&](std::string_view data) {
        if (broken || data.empty()) return !broken;
        int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
        broken = !send_all(std::string_view(size_line, static_cast<std::size_t>(n))) || !send_all(data) ||
                 !send_all("\r\n");
        return !broken;
    };
    produce(send);
    if (!broken) broken = !send_all("0\r\n\r\n");
    if (auto r = read_answer(broken)) return *r;
    throw std::runtime_error("connection to " + socket_path_ + " closed before a response");
}

std::string UnixHttpClient::request_head(const std::string& method, const std::string& target,
                                         std::optional<std::uint64_t> content_length,
                                         const std::map<std::string, std::string>& headers) const {
    const std::string host = endpoint_.socket_path.empty() ? endpoint_.host : "unix.socket";
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lodge\r\n";
    if (content_length) {
        if (!headers.count("Content-Type")) req += "Content-Type: application/json\r\n";
        req += "Content-Length: " + std::to_string(*content_length) + "\r\n";
    }
    for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
    return req + "\r\n";
}

std::optional<HttpResponse> UnixHttpClient::read_answer(bool broken) {
    std::string raw = pending_;
    pending_.clear();
    size_t head_end = std::string::npos;
    while ((head_end = raw.find("\r\n\r\n")) == std::string::npos) {
        auto chunk = read_some();
        if (chunk.empty()) break;
        raw += chunk;
    }
    if (head_end == std::string::npos) {
        disconnect();
        if (broken || raw.empty()) return std::nullopt;
        throw std::runtime_error("connection to " + socket_path_ + " closed inside a response head");
    }
    return finish(raw, head_end);
}

bool UnixHttpClient::send_all(std::string_view data) {
    size_t sent = 0;
    while (sent < data.size()) {
        if (tls_) {
            auto n = tls_->write(data.data() + sent, data.size() - sent);
            if (n == 0) return false;
            sent += n;
            continue;
        }
        ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

HttpResponse UnixHttpClient::finish(std::string& raw, size_t head_end) {
    HttpResponse r = parse_response_head(raw.substr(0, head_end));
    raw.erase(0, head_end + 4);
    auto header = [&r](const char* name) {
        auto it = r.headers.find(name);
        return it == r.headers.end() ? std::string() : lower(it->second);
    };
    auto more = [this, &raw] {
        auto chunk = read_some();
        if (chunk.empty()) throw std::runtime_error("connection to " + socket_path_ + " closed inside a response");
        raw += chunk;
    };
    bool close_after = header("connection") == "close";
    if (header("transfer-encoding").find("chunked") != std::string::npos) {
        size_t consumed = 0;
        while (!decode_chunked(raw, r.body, consumed)) more();
        pending_ = raw.substr(consumed);
    } else if (!header("content-length").empty()) {
        size_t length = std::stoul(header("content-length"));
        while (raw.size() < length) more();
        r.body = raw.substr(0, length);
        pending_ = raw.substr(length);
    } else if (r.status == 204 || r.status == 304 || r.status < 200) {
        pending_ = raw;
    } else {
        // No length given: the body ends when the server closes.
        for (auto chunk = read_some(); !chunk.empty(); chunk = read_some()) raw += chunk;
        r.body = raw;
        close_after = true;
    }
    if (close_after) {
        disconnect();
        pending_.clear();
    }
    return r;
}

} // namespace lodge::cli
