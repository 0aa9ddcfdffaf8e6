// lodged: the lodge daemon. Opens the state directory and database, then
// serves LXD's /1.0 API on $STATE_DIR/unix.socket until SIGTERM or SIGINT.
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/http/server.hpp"
#include "daemon/service_manager.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#ifndef LODGE_VERSION
#define LODGE_VERSION "0.0.0"
#endif

namespace {

// %* in a log pattern: the syslog priority of the message's level.
class SyslogPriority : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        int priority = 6; // info
        switch (msg.level) {
        case spdlog::level::critical: priority = 2; break;
        case spdlog::level::err: priority = 3; break;
        case spdlog::level::warn: priority = 4; break;
        case spdlog::level::info: priority = 6; break;
        default: priority = 7; break; // debug, trace
        }
        dest.push_back(static_cast<char>('0' + priority));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SyslogPriority>(); }
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: lodged [--state-dir DIR] [--no-default-network] [--verbose] [--debug]\n"
                 "       lodged shutdown|activate [--state-dir DIR]\n"
                 "\n"
                 "Serves the lodge API (LXD's /1.0 REST API) on DIR/unix.socket.\n"
                 "`lodged shutdown` asks the running lodged to stop every instance for the\n"
                 "host's shutdown (boot.stop.priority order), then to exit; `lodged activate`\n"
                 "starts a socket-activated lodged (which starts boot.autostart instances).\n"
                 "\n"
                 "  --state-dir DIR  state directory (default: $LODGE_DIR, else /var/lib/lodge)\n"
                 "  --no-default-network\n"
                 "                   on a new state directory, make no lodgebr0 bridge (and no\n"
                 "                   eth0 in the default profile): for hosts that must not get one\n"
                 "  --verbose        log informational messages\n"
                 "  --debug          log every request and debug detail\n"
                 "  --version        print the version\n"
                 "  --help           this text\n");
}

std::string https_address(lodge::daemon::Daemon& daemon) {
    auto config = daemon.with_db([](lodge::daemon::db::Database& db) { return lodge::daemon::db::load_server_config(db); });
    auto it = config.find("core.https_address");
    return it == config.end() ? "" : it->second;
}

// `lodged shutdown` and `lodged activate`: one request over the unix
// socket (the shutdown's is answered once every instance has stopped).
// Small enough not to need an HTTP client library.
int request(const std::string& socket_path, const std::string& method, const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd < 0 || socket_path.size() >= sizeof(addr.sun_path)) {
        std::fprintf(stderr, "lodged: cannot use %s\n", socket_path.c_str());
        return 1;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
        std::fprintf(stderr, "lodged: connecting to %s: %s\n", socket_path.c_str(), std::strerror(errno));
        ::close(fd);
        return 1;
    }
    const std::string request = method + " " + path + " HTTP/1.1\r\nHost: lodged\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n";
    if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
        std::fprintf(stderr, "lodged: sending the request: %s\n", std::strerror(errno));
        ::close(fd);
        return 1;
    }
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (answer.rfind("HTTP/1.1 200", 0) != 0) {
        std::fprintf(stderr, "lodged: %s %s: %s\n", method.c_str(), path.c_str(),
                     answer.substr(0, answer.find("\r\n")).c_str());
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const char* state_dir_flag = nullptr;
    auto level = spdlog::level::warn;
    std::string command; // shutdown, activate
    bool default_network = true;

    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if ((arg == "shutdown" || arg == "activate") && i == 1) {
            command = arg;
        } else if (arg == "--state-dir" && i + 1 < argc) {
            state_dir_flag = argv[++i];
        } else if (arg.rfind("--state-dir=", 0) == 0) {
            state_dir_flag = argv[i] + std::strlen("--state-dir=");
        } else if (arg == "--no-default-network") {
            default_network = false;
        } else if (arg == "--verbose") {
            if (level > spdlog::level::info) level = spdlog::level::info;
        } else if (arg == "--debug") {
            level = spdlog::level::debug;
        } else if (arg == "--version") {
            std::printf("%s\n", LODGE_VERSION);
            return 0;
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "lodged: unknown argument \"%s\"\n\n", arg.c_str());
            usage(stderr);
            return 2;
        }
    }

    if (!command.empty()) {
        const auto socket = lodge::daemon::default_state_dir(state_dir_flag) + "/unix.socket";
        return command == "shutdown" ? request(socket, "PUT", "/internal/shutdown") : request(socket, "GET", "/1.0");
    }

    auto logger = spdlog::stderr_color_mt("lodged");
    // The journal stamps time and takes the level from a "<N>" prefix
    // (syslog priority); elsewhere lines carry both themselves.
    if (lodge::daemon::stderr_is_journal()) {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<SyslogPriority>('*').set_pattern("<%*>%v");
        logger->set_formatter(std::move(formatter));
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::set_level(level);

    using namespace lodge::daemon;
    try {
        auto activated = activated_socket();
        Daemon daemon(default_state_dir(state_dir_flag));
        ServerOptions options;
        options.tls_certificate_path = daemon.certificate_path();
        options.upload_dir = daemon.vm_import_dir();
        options.tls_key_path = daemon.key_path();
        options.is_trusted = [&daemon](const std::string& fp) { return daemon.is_trusted_certificate(fp); };
        auto server = activated ? std::make_unique<UnixServer>(daemon.router(), *activated, options)
                                : std::make_unique<UnixServer>(daemon.router(), daemon.socket_path(), options);
        daemon.set_https_listener([&server](const std::string& address) { server->set_https_address(address); });
        // A stored address that cannot be bound any more (the interface went)
        // must not keep the unix socket from serving.
        if (auto address = https_address(daemon); !address.empty()) {
            try {
                daemon.listen_https(address);
            } catch (const std::exception& e) {
                spdlog::error("{}", e.what());
            }
        }
        spdlog::info("lodged {} started (state directory {}{})", LODGE_VERSION, daemon.state_dir(),
                     activated ? ", socket from the service manager" : "");
        daemon.start_networks(default_network);
        daemon.start_background_tasks();
        notify_service_manager("READY=1\nSTATUS=Serving the API on " + daemon.socket_path());
        server->run();
        notify_service_manager("STOPPING=1");
        // Before the server goes: operations' waiters hold its connections.
        daemon.operations().shutdown();
        // Stopping already: a SIGTERM from now on (a service manager, or the
        // one that asked us to stop) must not turn a clean exit into a kill
        // once the server's signal handling is gone.
        server.reset();
        std::signal(SIGTERM, SIG_IGN);
        std::signal(SIGINT, SIG_IGN);
        spdlog::info("lodged stopped");
        return 0;
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        notify_service_manager("STATUS=Failed: " + std::string(e.what()));
        return 1;
    }
}
