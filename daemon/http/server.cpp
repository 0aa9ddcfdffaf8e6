// The Beast side of lodged: accepting on the unix socket and on HTTPS,
// reading requests with a body limit, dispatching to the router, writing
// responses, and stopping on SIGTERM/SIGINT.
#include "daemon/http/server.hpp"

#include "common/certificate.hpp"
#include "common/error.hpp"
#include "daemon/https_address.hpp"
#include "daemon/http/target.hpp"
#include "daemon/http/sparse_file_body.hpp"
#include "daemon/http/websocket_session.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/beast/websocket/rfc6455.hpp>
#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <ctime>
#include <thread>
#include <vector>

namespace lodge::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

namespace {

// POST /1.0/instances (or /1.0/containers) with a backup tarball as the
// body (lxc import) may be as large as an image upload.
bool is_backup_upload_target(std::string_view target, std::string_view content_type) {
    if (content_type != "application/octet-stream") return false;
    for (std::string_view tree : {"/1.0/instances", "/1.0/containers"})
        if (target == tree || (target.starts_with(tree) && target.substr(tree.size()).starts_with("?"))) return true;
    return false;
}

// True when something accepts connections on path, i.e. another lodged.
bool socket_is_live(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return live;
}

HttpResponse error_http(int status, const std::string& message) {
    return to_http(api::error_response(status, message));
}

// RFC 7231 date for the Date header (Go's server sends one; so does lodged).
std::string http_date() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// Who is on the other end of a connection: on the unix socket always
// trusted (only root and the socket's group can connect, mode 0660, as with
// LXD); on HTTPS trusted while its certificate is in the trust store.
struct Peer {
    bool tls = false;
    std::string certificate; // PEM, "" without one
    std::string fingerprint;
    std::string address;
    const std::function<bool(const std::string&)>* is_trusted = nullptr;

    bool trusted() const {
        if (!tls) return true;
        return !fingerprint.empty() && is_trusted && *is_trusted && (*is_trusted)(fingerprint);
    }
};

// The client certificate of a finished TLS handshake, as PEM.
std::string peer_certificate_pem(TlsStream& stream) {
    X509* cert = SSL_get1_peer_certificate(stream.native_handle());
    std::string out = x509_to_pem(cert);
    X509_free(cert);
    return out;
}

// One connection over Stream (a unix socket or TLS over TCP). All of its
// handlers run on its strand (the socket's executor), so shutdown() posted
// from another thread never races them.
template <typename Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
public:
    Session(Stream stream, Peer peer, const Router& router, const ServerOptions& options, ConnectionRegistry& registry)
        : socket_(std::move(stream)), peer_(std::move(peer)), router_(router), body_limit_(options.body_limit),
          upload_limit_(options.upload_limit), upload_dir_(options.upload_dir), vm_disk_limit_(options.vm_disk_limit),
          registry_(registry) {
        registry_.add(this);
    }
    using std::enable_shared_from_this<Session<Stream>>::shared_from_this;
    using std::enable_shared_from_this<Session<Stream>>::weak_from_this;
    ~Session() override { registry_.remove(this); }

    void start() { read(); }

    std::shared_ptr<Connection> lock() override { return weak_from_this().lock(); }

    // Ends the connection after the response in progress, or now when idle.
    void shutdown() override {
        asio::post(socket_.get_executor(), [self = shared_from_this()] {
            self->closing_ = true;
            if (!self->busy_) {
                beast::error_code ignored;
                beast::get_lowest_layer(self->socket_).cancel(ignored);
            }
        });
    }

private:
    void read() {
        if (closing_) return close();
        parser_.emplace();
        // The header decides the limit: image uploads may be large. Beast
        // checks Content-Length against the limit while parsing the header,
        // so the header is read with the larger one.
        parser_->body_limit(upload_limit_);
        http::async_read_header(socket_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        const auto& header = parser_->get();
        const bool upload = header.method() == http::verb::post &&
                            (header.target() == "/1.0/images" || header.target().starts_with("/1.0/images?") ||
                             is_backup_upload_target({header.target().data(), header.target().size()},
                                                     {header[http::field::content_type].data(),
                                                      header[http::field::content_type].size()}));
        const bool empty = parser_->content_length() && *parser_->content_length() == 0;
        if (upload && !empty && (header.count("X-Lodge-VM-Disk") || header.count("X-Lodge-Migrate")) &&
            !upload_dir_.empty())
            return read_to_file();
        if (!upload) {
            if (parser_->content_length() && *parser_->content_length() > body_limit_)
                return on_read(http::error::body_limit);
            parser_->body_limit(body_limit_); // chunked bodies are counted as they come
        }
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    // A VM disk goes to a file as it arrives, never whole in memory.
    void read_to_file() {
        // Disk space is spent only for clients allowed to import.
        if (!peer_.trusted()) return write(error_http(403, "not authorized"), false, 11);
        auto file = std::make_shared<UploadedFile>();
        std::string path = upload_dir_ + "/upload.XXXXXX";
        file->fd = ::mkostemp(path.data(), O_CLOEXEC);
        if (file->fd < 0) {
            spdlog::error("http: creating an upload file in {}: {}", upload_dir_, std::strerror(errno));
            return write(error_http(500, "Cannot store the upload"), false, 11);
        }
        file->path = path;
        file_parser_.emplace(std::move(*parser_));
        file_parser_->body_limit(vm_disk_limit_);
        file_parser_->get().body().file = file;
        http::async_read(socket_, buffer_, *file_parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        busy_ = true;
        if (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof ||
            ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated)
            return close();
        if (ec == http::error::body_limit)
            return write(error_http(413, "Request body larger than " +
                                             std::to_string(file_parser_ ? vm_disk_limit_ : body_limit_) + " bytes"),
                         false, 11);
        if (ec) {
            spdlog::debug("http: bad request: {}", ec.message());
            return write(error_http(400, "Bad HTTP request: " + ec.message()), false, 11);
        }
        if (file_parser_) {
            // The file now holds the body: the handler gets it, closed.
            auto in = file_parser_->release();
            file_parser_.reset();
            auto file = std::move(in.body().file);
            ::close(std::exchange(file->fd, -1));
            http::request<http::string_body> headers(std::move(in.base()));
            const bool keep_alive = headers.keep_alive();
            const unsigned version = headers.version();
            handle(headers, std::move(file),
                   [self = shared_from_this(), keep_alive, version](HttpResponse response) {
                       asio::post(self->socket_.get_executor(),
                                  [self, keep_alive, version, r = std::move(response)]() mutable {
                                      self->write(std::move(r), keep_alive, version);
                                  });
                   });
            return;
        }
        auto beast_request = parser_->release();
        if (beast::websocket::is_upgrade(beast_request)) upgrade_request_ = beast_request;
        const bool keep_alive = beast_request.keep_alive();
        const unsigned version = beast_request.version();
        handle(beast_request, nullptr, [self = shared_from_this(), keep_alive, version](HttpResponse response) {
            // Deferred replies arrive on other threads: back onto the strand.
            asio::post(self->socket_.get_executor(), [self, keep_alive, version, r = std::move(response)]() mutable {
                self->write(std::move(r), keep_alive, version);
            });
        });
    }

    void handle(http::request<http::string_body>& in, std::shared_ptr<UploadedFile> body_file,
                std::function<void(HttpResponse)> respond) {
        auto target = parse_target(std::string_view(in.target().data(), in.target().size()));
        if (!target) return respond(error_http(400, "Bad request target: " + std::string(in.target())));
        Request req;
        req.method = std::string(in.method_string());
        req.path = std::move(target->path);
        req.query = std::move(target->query);
        for (const auto& field : in) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            req.headers[name] = std::string(field.value());
        }
        req.body = std::move(in.body());
        req.body_file = std::move(body_file);
        req.trusted = peer_.trusted();
        req.local = !peer_.tls;
        req.client_certificate = peer_.certificate;
        req.client_fingerprint = peer_.fingerprint;
        req.remote_address = peer_.address;
        router_.dispatch(req, [respond = std::move(respond), method = req.method,
                               target = std::string(in.target())](HttpResponse response) {
            spdlog::debug("{} {} -> {}", method, target, response.status);
            respond(std::move(response));
        });
    }

    void write(HttpResponse response, bool keep_alive, unsigned version) {
        if (response.websocket) {
            if (!upgrade_request_) {
                response = error_http(400, "This endpoint is a WebSocket: send the Upgrade: websocket handshake");
            } else {
                // The connection is the WebSocket's from here on.
                busy_ = false;
                start_websocket(std::move(socket_), std::move(*upgrade_request_), std::move(response.websocket),
                                registry_);
                return;
            }
        }
        upgrade_request_.reset();
        auto out = std::make_shared<http::response<http::string_body>>();
        out->version(version);
        out->result(static_cast<unsigned>(response.status));
        out->set(http::field::content_type, response.content_type);
        out->set(http::field::date, http_date());
        for (const auto& [name, value] : response.headers) out->set(name, value);
        keep_alive = keep_alive && !closing_;
        out->keep_alive(keep_alive);
        out->body() = std::move(response.body);
        out->prepare_payload();
        http::async_write(socket_, *out,
                          [self = shared_from_this(), out, keep_alive](beast::error_code ec, std::size_t) {
                              self->busy_ = false;
                              if (ec || !keep_alive) return self->close();
                              self->read();
                          });
    }

    void close() {
        beast::error_code ignored;
        auto& lowest = beast::get_lowest_layer(socket_);
        lowest.shutdown(asio::socket_base::shutdown_send, ignored);
        lowest.close(ignored);
    }

    Stream socket_;
    Peer peer_;
    const Router& router_;
    std::size_t body_limit_;
    std::size_t upload_limit_;
    std::string upload_dir_;
    std::uint64_t vm_disk_limit_;
    ConnectionRegistry& registry_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<http::request_parser<SparseFileBody>> file_parser_;
    std::optional<http::request<http::string_body>> upgrade_request_; // kept for the handshake
    bool busy_ = false;    // between a complete request and its response written
    bool closing_ = false; // the server is shutting down
};

} // namespace

struct UnixServer::Impl {
    Impl(Router& r, std::string p, ServerOptions o)
        : router(r), path(std::move(p)), options(std::move(o)), strand(asio::make_strand(io)), acceptor(strand),
          signals(strand, SIGINT, SIGTERM), deadline(strand) {}

    void listen() {
        if (path.size() >= sizeof(sockaddr_un::sun_path)) throw Error(400, "socket path too long: " + path);
        if (socket_is_live(path))
            throw Error(409, "another daemon is already listening on " + path + "; stop it first");
        ::unlink(path.c_str()); // a stale socket of a lodged that died
        // Create the socket with no access for others from the start: the
        // umask is process-wide, so this runs before any thread exists.
        mode_t old = ::umask(0117);
        beast::error_code ec;
        acceptor.open(local(), ec);
        if (!ec) acceptor.bind(local::endpoint(path), ec);
        ::umask(old);
        if (ec) throw Error(500, "bind " + path + ": " + ec.message());
        bound = true;
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) throw Error(500, "listen on " + path + ": " + ec.message());
        if (::chmod(path.c_str(), 0660) != 0) throw_errno("chmod " + path);
        if (group* g = ::getgrnam(options.group.c_str())) {
            if (::chown(path.c_str(), 0, g->gr_gid) != 0) throw_errno("chown " + path);
        }
    }

    // The TLS context, made when HTTPS is first wanted. Client certificates
    // are asked for and any is accepted: trust is the fingerprint's presence
    // in the trust store, checked per request, not a CA chain.
    asio::ssl::context& tls_context() {
        if (tls) return *tls;
        if (options.tls_certificate_path.empty()) throw Error(500, "HTTPS without a server certificate");
        tls.emplace(asio::ssl::context::tls_server);
        tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        tls->use_certificate_chain_file(options.tls_certificate_path);
        tls->use_private_key_file(options.tls_key_path, asio::ssl::context::pem);
        tls->set_verify_mode(asio::ssl::verify_peer);
        tls->set_verify_callback([](bool, asio::ssl::verify_context&) { return true; });
        return *tls;
    }

    std::shared_ptr<tcp::acceptor> bind_https(const HttpsAddress& a, beast::error_code& ec) {
        asio::ip::address ip = a.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                              : asio::ip::make_address(a.host, ec);
        if (ec) return nullptr;
        tcp::endpoint endpoint(ip, static_cast<unsigned short>(a.port));
        auto acceptor = std::make_shared<tcp::acceptor>(strand);
        acceptor->open(endpoint.protocol(), ec);
        if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor->bind(endpoint, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        return ec ? nullptr : acceptor;
    }

    void set_https_address(const std::string& address) {
        std::lock_guard lock(https_mutex);
        if (address == https_address) return;
        if (address.empty()) {
            close_https_locked();
            https_address.clear();
            spdlog::info("https: stopped listening");
            return;
        }
        auto parsed = parse_https_address(address);
        tls_context();
        beast::error_code ec;
        auto acceptor = bind_https(parsed, ec);
        if (ec == asio::error::address_in_use && https) {
            // Moving to an address the old listener covers: let go first,
            // and take it back if the new one still cannot be bound.
            close_https_locked();
            acceptor = bind_https(parsed, ec);
            if (ec) {
                beast::error_code ignored;
                if (!https_address.empty()) https = bind_https(parse_https_address(https_address), ignored);
                if (https) accept_https_locked(https);
            }
        }
        if (ec) throw Error(400, "Cannot listen on core.https_address \"" + address + "\": " + ec.message());
        close_https_locked();
        https = acceptor;
        https_address = address;
        accept_https_locked(https);
        spdlog::info("https: listening on {}", address);
    }

    void close_https_locked() {
        if (!https) return;
        beast::error_code ignored;
        https->close(ignored);
        https.reset();
    }

    void accept_https_locked(std::shared_ptr<tcp::acceptor> acceptor) {
        acceptor->async_accept(asio::make_strand(io), [this, acceptor](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            std::lock_guard lock(https_mutex);
            if (acceptor != https) return; // replaced or closed meanwhile
            if (ec)
                spdlog::warn("https: accept: {}", ec.message());
            else
                start_tls_session(std::move(socket));
            accept_https_locked(acceptor);
        });
    }

    void start_tls_session(tcp::socket socket) {
        beast::error_code ec;
        auto remote = socket.remote_endpoint(ec);
        auto stream = std::make_shared<TlsStream>(std::move(socket), *tls);
        // A client that connects and never finishes the handshake must not
        // hold a socket forever.
        auto timer = std::make_shared<asio::steady_timer>(stream->get_executor(), std::chrono::seconds(30));
        timer->async_wait([stream](beast::error_code e) {
            if (e) return;
            beast::error_code ignored;
            stream->lowest_layer().close(ignored);
        });
        std::string address = ec ? "" : remote.address().to_string() + ":" + std::to_string(remote.port());
        stream->async_handshake(
            asio::ssl::stream_base::server, [this, stream, timer, address](beast::error_code e) {
                timer->cancel();
                if (e) {
                    spdlog::debug("https: handshake with {}: {}", address, e.message());
                    beast::error_code ignored;
                    stream->lowest_layer().close(ignored);
                    return;
                }
                Peer peer;
                peer.tls = true;
                peer.address = address;
                peer.is_trusted = &options.is_trusted;
                peer.certificate = peer_certificate_pem(*stream);
                if (!peer.certificate.empty()) {
                    try {
                        peer.fingerprint = certificate_fingerprint(peer.certificate);
                    } catch (const Error&) {
                        peer.certificate.clear();
                    }
                }
                std::make_shared<Session<TlsStream>>(std::move(*stream), std::move(peer), router, options, registry)
                    ->start();
            });
    }

    void accept() {
        // Each connection gets its own strand (see Session).
        acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, local::socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (ec)
                spdlog::warn("http: accept: {}", ec.message());
            else
                std::make_shared<Session<local::socket>>(std::move(socket), Peer{}, router, options, registry)
                    ->start();
            accept();
        });
    }

    // Stops accepting and ends every connection once its current response is
    // written; run() returns when none is left, or after a grace period
    // when a client keeps a request going.
    void shutdown() {
        beast::error_code ignored;
        acceptor.close(ignored);
        {
            std::lock_guard lock(https_mutex);
            close_https_locked();
        }
        signals.cancel(ignored);
        registry.shutdown_all();
        deadline.expires_after(std::chrono::seconds(10));
        deadline.async_wait([this](beast::error_code ec) {
            if (ec) return;
            spdlog::warn("http: connections still busy after 10 s; closing them");
            io.stop();
        });
        // The grace timer must not keep run() alive once the connections are gone.
        asio::post(strand, [this] { wait_for_sessions(); });
    }

    void wait_for_sessions() {
        if (registry.empty()) {
            deadline.cancel();
            return;
        }
        auto poll = std::make_shared<asio::steady_timer>(strand, std::chrono::milliseconds(10));
        poll->async_wait([this, poll](beast::error_code) { wait_for_sessions(); });
    }

    Router& router;
    std::string path;
    ServerOptions options;
    ConnectionRegistry registry; // before io: connections left in io's queues unregister on its destruction
    asio::io_context io;
    // The acceptor, signals and shutdown timers share one strand: accept
    // handlers re-arm the acceptor while shutdown (another thread) closes it.
    asio::strand<asio::io_context::executor_type> strand;
    local::acceptor acceptor;
    asio::signal_set signals;
    asio::steady_timer deadline;
    bool bound = false;
    std::optional<asio::ssl::context> tls;
    std::mutex https_mutex; // the HTTPS acceptor is touched from request threads
    std::shared_ptr<tcp::acceptor> https;
    std::string https_address;
};

UnixServer::UnixServer(Router& router, std::string socket_path, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(socket_path), std::move(options))) {
    impl_->listen();
}

UnixServer::UnixServer(Router& router, int listening_fd, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, "", std::move(options))) {
    sockaddr_un addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sun_path[0])
        impl_->path = addr.sun_path;
    beast::error_code ec;
    impl_->acceptor.assign(local(), listening_fd, ec);
    if (ec) throw Error(500, "adopt listening socket: " + ec.message());
}

UnixServer::~UnixServer() {
    if (impl_->bound) ::unlink(impl_->path.c_str());
}

void UnixServer::run() {
    impl_->signals.async_wait([this](beast::error_code ec, int signo) {
        if (ec) return;
        spdlog::info("signal {}: shutting down", signo);
        impl_->shutdown();
    });
    impl_->accept();
    spdlog::info("listening on {}", impl_->path);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < impl_->options.threads; ++i) threads.emplace_back([this] { impl_->io.run(); });
    impl_->io.run();
    for (auto& t : threads) t.join();
}

void UnixServer::set_https_address(const std::string& address) { impl_->set_https_address(address); }

void UnixServer::stop() {
    asio::post(impl_->strand, [this] { impl_->shutdown(); });
}

} // namespace lodge::daemon
