// `lodge exec` and `lodge console`: a command's or the console's streams
// over the operation's websockets, as lxc does it. Interactive sessions put
// the terminal in raw mode and forward its size; non-interactive ones pipe
// stdin, stdout and stderr apart and forward signals; exec's exit code
// becomes lodge's own.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/websocket_client.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

namespace lodge::cli {

namespace {

// Raw mode for the life of the object.
class RawTerminal {
public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        if (::tcsetattr(fd_, TCSANOW, &raw) == 0) active_ = true;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

// Signals as an fd the poll loop reads: window changes and the ones a
// non-interactive command should get too.
class SignalFd {
public:
    explicit SignalFd(std::initializer_list<int> signals) {
        sigemptyset(&set_);
        for (int s : signals) sigaddset(&set_, s);
        ::sigprocmask(SIG_BLOCK, &set_, &old_);
        fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    ~SignalFd() {
        if (fd_ >= 0) ::close(fd_);
        ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    }
    int fd() const { return fd_; }
    int next() {
        signalfd_siginfo info;
        if (::read(fd_, &info, sizeof info) != sizeof info) return 0;
        return static_cast<int>(info.ssi_signo);
    }

private:
    sigset_t set_, old_;
    int fd_ = -1;
};

bool write_fd(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::pair<int, int> terminal_size(int fd) {
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return {80, 24};
    return {ws.ws_col, ws.ws_row};
}

std::string resize_message(int fd) {
    auto [w, h] = terminal_size(fd);
    return nlohmann::json{{"command", "window-resize"},
                          {"args", {{"width", std::to_string(w)}, {"height", std::to_string(h)}}}}
        .dump();
}

std::string websocket_target(const std::string& op_id, const std::string& secret) {
    return "/1.0/operations/" + op_id + "/websocket?secret=" + secret;
}

// Relays until the output websockets end. Interactive: stdin <-> ws 0 in
// raw mode. Otherwise stdin -> ws 0, ws 1 -> stdout, ws 2 -> stderr.
// A console detaches on <ctrl>+a q, as lxc's does.
void relay(const std::string& socket, const std::string& op_id, const nlohmann::json& fds, bool interactive,
           bool console = false) {
    auto connect = [&](const std::string& name) {
        return std::make_unique<WebSocketClient>(socket, websocket_target(op_id, fds.at(name).get<std::string>()));
    };
    auto control = fds.contains("control") ? connect("control") : nullptr;
    auto in = connect("0");
    std::unique_ptr<WebSocketClient> out, err;
    if (!interactive) {
        out = connect("1");
        err = connect("2");
    }
    std::optional<RawTerminal> raw;
    if (interactive && ::isatty(0)) raw.emplace(0);
    SignalFd signals = interactive ? SignalFd{SIGWINCH} : SignalFd{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    if (interactive && control && ::isatty(0)) control->send(resize_message(0), WebSocketClient::Text);

    bool stdin_open = true;
    bool ctrl_a = false; // a console's last input ended in <ctrl>+a
    // (websocket, fd to write to); each ends on a close or LXD's text barrier.
    std::vector<std::pair<WebSocketClient*, int>> outputs;
    if (interactive)
        outputs.push_back({in.get(), 1});
    else
        outputs = {{out.get(), 1}, {err.get(), 2}};
    while (!outputs.empty()) {
        std::vector<pollfd> p;
        for (auto& [ws, fd] : outputs) p.push_back({ws->fd(), POLLIN, 0});
        const std::size_t sig_at = p.size();
        p.push_back({signals.fd(), POLLIN, 0});
        const std::size_t in_at = p.size();
        if (stdin_open) p.push_back({0, POLLIN, 0});
        bool buffered = false;
        for (auto& [ws, fd] : outputs) buffered = buffered || ws->has_buffered();
        if (::poll(p.data(), p.size(), buffered ? 0 : -1) < 0 && errno != EINTR)
            throw Error(std::string("poll: ") + std::strerror(errno));
        for (std::size_t i = outputs.size(); i-- > 0;) {
            auto [ws, fd] = outputs[i];
            if (!(p[i].revents || ws->has_buffered())) continue;
            auto m = ws->receive();
            if (m.opcode == WebSocketClient::Binary) {
                write_fd(fd, m.data);
            } else {
                ws->close();
                outputs.erase(outputs.begin() + static_cast<long>(i));
            }
        }
        if (p[sig_at].revents) {
            for (int s; (s = signals.next()) != 0;) {
                if (!control) continue;
                if (s == SIGWINCH)
                    control->send(resize_message(0), WebSocketClient::Text);
                else
                    control->send(nlohmann::json{{"command", "signal"}, {"signal", s}}.dump(), WebSocketClient::Text);
            }
        }
        if (stdin_open && p.size() > in_at && p[in_at].revents) {
            char buf[65536];
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n > 0) {
                std::string data(buf, static_cast<std::size_t>(n));
                if (console && (data.find("\x01q") != std::string::npos || (ctrl_a && data[0] == 'q'))) {
                    in->close();
                    return;
                }
                ctrl_a = console && data.back() == '\x01';
                in->send(data, WebSocketClient::Binary);
            } else if (n == 0 || errno != EINTR) {
                stdin_open = false;
                if (!interactive) in->send("", WebSocketClient::Text); // end of input
            }
        }
    }
}

// The websocket client speaks over unix sockets only, so far.
void require_unix(ApiClient& api) {
    if (api.http().endpoint().socket_path.empty())
        throw Error("exec and console need a local remote for now (websockets over HTTPS are not implemented)");
}

int run_exec(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    std::vector<std::string> command(args.positional.begin() + 1, args.positional.end());
    bool interactive = ::isatty(0) && ::isatty(1);
    if (args.has("force-interactive")) interactive = true;
    if (args.has("force-noninteractive")) interactive = false;
    if (args.has("force-interactive") && args.has("force-noninteractive"))
        throw Error("You can't pass -t and -T at the same time");
    const auto& mode = args.value("mode");
    if (mode == "interactive")
        interactive = true;
    else if (mode == "non-interactive")
        interactive = false;
    else if (mode != "auto")
        throw Error("Invalid --mode \"" + mode + "\": auto, interactive or non-interactive");

    nlohmann::json env = nlohmann::json::object();
    if (interactive) env["TERM"] = std::getenv("TERM") ? std::getenv("TERM") : "xterm";
    if (auto it = args.all.find("env"); it != args.all.end()) {
        for (const auto& kv : it->second) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) throw Error("Bad key=value pair: " + kv);
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    auto number = [&](const char* flag) -> long {
        const auto& v = args.value(flag);
        char* end = nullptr;
        long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 0) throw Error(std::string("Invalid --") + flag + " \"" + v + "\"");
        return n;
    };
    auto [w, h] = interactive ? terminal_size(1) : std::pair<int, int>{0, 0};
    nlohmann::json body{{"command", command},  {"wait-for-websocket", true}, {"interactive", interactive},
                        {"environment", env},  {"width", w},                 {"height", h},
                        {"record-output", false}, {"user", number("user")},  {"group", number("group")},
                        {"cwd", args.value("cwd")}};

    ctx.out.flush();
    auto api = connect_remote(ctx.config, remote);
    require_unix(api);
    auto op = api.query("POST", "/1.0/instances/" + url_escape(name) + "/exec", body)["metadata"];
    const std::string id = op["id"];
    relay(api.socket_path(), id, op["metadata"]["fds"], interactive);
    auto done = api.get("/1.0/operations/" + id + "/wait");
    if (done.value("status", "") != "Success") throw Error(done.value("err", std::string("exec failed")));
    return done["metadata"].value("return", 1);
}

int run_console(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    auto api = connect_remote(ctx.config, remote);
    const auto path = "/1.0/instances/" + url_escape(name) + "/console";
    if (!args.has("show-log")) require_unix(api);
    if (args.has("show-log")) {
        ctx.out << api.raw("GET", path).body;
        return 0;
    }
    auto [w, h] = terminal_size(1);
    auto op = api.query("POST", path, nlohmann::json{{"width", w}, {"height", h}, {"type", "console"}})["metadata"];
    ctx.err << "To detach from the console, press: <ctrl>+a q\n";
    ctx.err.flush();
    relay(api.socket_path(), op["id"], op["metadata"]["fds"], true, true);
    return 0;
}

} // namespace

void add_exec_commands(std::vector<Command>& table) {
    table.push_back({"exec",
                     {},
                     "[<remote>:]<instance> [flags] [--] <command line>",
                     "Execute commands in instances",
                     2,
                     many,
                     {{"env", 0, true, "", "Environment variable to set (e.g. HOME=/home/foo)"},
                      {"cwd", 0, true, "", "Directory to run the command in (default /root)"},
                      {"user", 0, true, "0", "User ID to run the command as (default 0)"},
                      {"group", 0, true, "0", "Group ID to run the command as (default 0)"},
                      {"force-interactive", 't', false, "", "Force pseudo-terminal allocation"},
                      {"force-noninteractive", 'T', false, "", "Disable pseudo-terminal allocation"},
                      {"mode", 0, true, "auto", "Override the terminal mode (auto, interactive or non-interactive)"}},
                     run_exec});
    table.push_back({"console",
                     {},
                     "[<remote>:]<instance>",
                     "Attach to instance consoles",
                     1,
                     1,
                     {{"show-log", 0, false, "", "Retrieve the container's console log"}},
                     run_console});
}

} // namespace lodge::cli
