// exec sessions over websockets: the secrets, the wait for the clients to
// connect, and the poll(2) relay between websockets and the command's
// pipes or pty.
#include "daemon/exec_session.hpp"

#include "common/pidfd.hpp"
#include "common/error.hpp"
#include "daemon/relay_session.hpp"
#include "runtime/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

namespace lodge::daemon {

namespace {

// LXD gives clients this long to connect the websockets before it gives up.
constexpr std::chrono::seconds connect_timeout{10};
// Output queued on a websocket beyond which the command is not read.
constexpr std::size_t max_queued = 4 * 1024 * 1024;

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

struct Pipe {
    UniqueFd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class ExecSession : public RelaySession<ExecSession> {
    friend class RelaySession<ExecSession>;

public:
    ExecSession(OperationSockets& sockets, std::shared_ptr<DetachedOperation> op, std::map<std::string, std::string> fds,
                nlohmann::json metadata, ExecTarget target)
        : RelaySession(sockets, std::move(op), std::move(fds)), metadata_(std::move(metadata)),
          target_(std::move(target)) {
        needed_ = target_.request.pty ? 1 : 3; // the data fds; control is optional (pylxd never opens it)
    }

private:
    void attach(const std::string& name, std::shared_ptr<WebSocket> ws) {
        std::weak_ptr<ExecSession> weak = weak_from_this();
        if (name == "0") {
            ws->on_message([weak](std::string data, bool binary) {
                if (auto self = weak.lock()) self->stdin_message(std::move(data), binary);
            });
            ws->on_close([weak] {
                if (auto self = weak.lock()) {
                    self->hung_up_ = true; // a terminal whose user went away
                    self->stdin_message("", false);
                }
            });
        } else if (name == "control") {
            ws->on_message([weak](std::string data, bool) {
                if (auto self = weak.lock()) self->control_message(data);
            });
        }
        {
            std::lock_guard lock(mutex_);
            if (finished_) {
                ws->close();
                return;
            }
            sockets_open_[name] = ws;
            if (name != "control") ++connected_;
        }
        wakeup();
    }

    // Binary frames are input; a text frame (LXD's barrier) or the
    // websocket's end means end of input.
    void stdin_message(std::string data, bool binary) {
        {
            std::lock_guard lock(mutex_);
            if (binary && !data.empty())
                stdin_buf_ += data;
            else
                stdin_eof_ = true;
        }
        wakeup();
    }

    void control_message(const std::string& data) {
        auto c = parse_exec_control(data);
        if (c.kind == ExecControl::Kind::None) return;
        {
            std::lock_guard lock(mutex_);
            controls_.push_back(c);
        }
        wakeup();
    }

    std::shared_ptr<WebSocket> socket(const std::string& name) {
        std::lock_guard lock(mutex_);
        auto it = sockets_open_.find(name);
        return it == sockets_open_.end() ? nullptr : it->second;
    }

    void drain_wake() {
        uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
    }

    // Until the data websockets are there, stop, or the timeout.
    bool wait_for_clients() {
        const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
        while (!stop_) {
            {
                std::lock_guard lock(mutex_);
                if (connected_ >= needed_) return true;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{wake_.get(), POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
            drain_wake();
        }
        return false;
    }

    void run() {
        std::string err;
        int code = -1;
        try {
            if (!wait_for_clients())
                err = stop_ ? "lodged is shutting down" : "Timed out waiting for websockets to connect";
            else
                code = relay();
        } catch (const std::exception& e) {
            err = e.what();
        }
        if (stop_ && err.empty()) err = "lodged is shutting down";
        finish(code, err);
    }

    // Starts the command; a command that is not there ends like a shell's,
    // with 127 and the reason on stderr.
    bool start(runtime::ExecSession& session, std::vector<UniqueFd>& outs, UniqueFd& in, int& code) {
        auto& req = target_.request;
        Pipe p_in, p_out, p_err;
        if (!req.pty) {
            p_in = make_pipe();
            p_out = make_pipe();
            p_err = make_pipe();
            req.stdin_fd = p_in.read.get();
            req.stdout_fd = p_out.write.get();
            req.stderr_fd = p_err.write.get();
        }
        try {
            session = runtime::start_exec(target_.run_dir, target_.runtime_name, req);
        } catch (const Error& e) {
            if (e.status() != 404 || std::string(e.what()).find("not running") != std::string::npos) throw;
            if (auto ws = socket(req.pty ? "0" : "2")) ws->send_binary(std::string(e.what()) + "\n");
            code = 127;
            return false;
        }
        if (req.pty) {
            set_nonblocking(session.pty.get());
            outs.push_back(UniqueFd(::dup(session.pty.get())));
            in = std::move(session.pty);
        } else {
            outs.push_back(std::move(p_out.read));
            outs.push_back(std::move(p_err.read));
            in = std::move(p_in.write);
        }
        for (auto& fd : outs) set_nonblocking(fd.get());
        set_nonblocking(in.get());
        return true;
    }

    // Reads what fd has now; false at its end.
    bool pump(int fd, const std::shared_ptr<WebSocket>& ws) {
        char buf[65536];
        for (int chunks = 0; chunks < 16;) { // then back to poll: stdin and control get their turn
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                if (ws) ws->send_binary(std::string(buf, static_cast<std::size_t>(n)));
                if (static_cast<std::size_t>(n) < sizeof buf) return true;
                ++chunks;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return true;
            return false; // EOF, or EIO from a pty whose other side is gone
        }
        return true;
    }

    void apply_controls(int pty, int pidfd) {
        std::vector<ExecControl> controls;
        {
            std::lock_guard lock(mutex_);
            controls.swap(controls_);
        }
        for (const auto& c : controls) {
            if (c.kind == ExecControl::Kind::WindowResize && pty >= 0) {
                winsize ws{};
                ws.ws_col = c.width;
                ws.ws_row = c.height;
                ::ioctl(pty, TIOCSWINSZ, &ws);
            } else if (c.kind == ExecControl::Kind::Signal && pidfd >= 0) {
                pidfd_send_signal(pidfd, c.signal);
            }
        }
    }

    // Feeds pending input; closes the command's stdin at the end of input
    // (a pty stays open: the end of a terminal's input is the user's ^D).
    void feed_stdin(UniqueFd& in, bool pty) {
        std::lock_guard lock(mutex_);
        while (in && !stdin_buf_.empty()) {
            ssize_t n = ::write(in.get(), stdin_buf_.data(), stdin_buf_.size());
            if (n > 0) {
                stdin_buf_.erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            stdin_buf_.clear(); // the command closed its stdin
            if (!pty) in.reset();
        }
        if (!pty && in && stdin_eof_ && stdin_buf_.empty()) in.reset();
    }

    int relay() {
        runtime::ExecSession session;
        std::vector<UniqueFd> outs;
        UniqueFd in;
        int code = -1;
        if (!start(session, outs, in, code)) return code;
        const bool pty = target_.request.pty;
        UniqueFd pidfd(pidfd_open(session.pid));
        std::vector<std::shared_ptr<WebSocket>> out_ws;
        for (const char* name : pty ? std::vector<const char*>{"0"} : std::vector<const char*>{"1", "2"})
            out_ws.push_back(socket(name));
        std::vector<bool> open(outs.size(), true);
        bool hup_sent = false;
        // Input and control messages that came while waiting for the
        // clients found the wakeup already consumed: look at them first.
        wakeup();
        for (;;) {
            std::vector<pollfd> pfds{{wake_.get(), POLLIN, 0}, {session.sock.get(), POLLIN, 0}};
            // A client that reads slower than the command writes: stop
            // reading the command (its pipe fills and it blocks) until the
            // websocket's queue has gone down; checked again every 10 ms.
            bool throttled = false;
            for (const auto& ws : out_ws) throttled = throttled || (ws && ws->queued_bytes() > max_queued);
            for (std::size_t i = 0; i < outs.size(); ++i)
                pfds.push_back({open[i] && !throttled ? outs[i].get() : -1, POLLIN, 0});
            bool want_out;
            {
                std::lock_guard lock(mutex_);
                want_out = in && !stdin_buf_.empty();
            }
            if (want_out) pfds.push_back({in.get(), POLLOUT, 0});
            if (::poll(pfds.data(), pfds.size(), throttled ? 10 : -1) < 0) {
                if (errno == EINTR) continue;
                throw SystemError("poll", errno);
            }
            if (pfds[0].revents) {
                drain_wake();
                if (stop_) return -1;
                apply_controls(pty ? in.get() : -1, pidfd.get());
                // As a terminal's hangup: the shell left behind ends.
                if (pty && hung_up_ && !hup_sent) {
                    hup_sent = true;
                    pidfd_send_signal(pidfd.get(), SIGHUP);
                }
            }
            feed_stdin(in, pty);
            for (std::size_t i = 0; i < outs.size(); ++i)
                if (open[i] && pfds[2 + i].revents) open[i] = pump(outs[i].get(), out_ws[i]);
            if (pfds[1].revents) {
                code = runtime::wait_exec(session);
                // What the command wrote before it ended is in the pipes
                // now; a background child holding them open is not waited for.
                for (std::size_t i = 0; i < outs.size(); ++i)
                    if (open[i]) pump(outs[i].get(), out_ws[i]);
                return code;
            }
        }
    }

    void finish(int code, const std::string& err) {
        std::map<std::string, std::shared_ptr<WebSocket>> ws;
        {
            std::lock_guard lock(mutex_);
            finished_ = true;
            ws.swap(sockets_open_);
        }
        for (auto& [name, s] : ws) {
            // LXD's barrier: an empty text message ends an output stream.
            if (name == "1" || name == "2") s->send_text("");
            s->close();
        }
        if (err.empty()) {
            metadata_["return"] = code;
            op_->set_metadata(metadata_);
        }
        op_->end(err);
        mark_done();
    }

    nlohmann::json metadata_;
    ExecTarget target_;
    int needed_;

    std::map<std::string, std::shared_ptr<WebSocket>> sockets_open_;
    int connected_ = 0;
    std::string stdin_buf_;
    bool stdin_eof_ = false;
    std::vector<ExecControl> controls_;
    std::atomic<bool> hung_up_{false}; // websocket 0 closed
};

unsigned short dimension(const nlohmann::json& v) {
    long n = 0;
    if (v.is_string()) {
        try {
            n = std::stol(v.get<std::string>());
        } catch (const std::exception&) {
            return 0;
        }
    } else if (v.is_number_integer()) {
        n = v.get<long>();
    }
    return n > 0 && n < 65536 ? static_cast<unsigned short>(n) : 0;
}

} // namespace

ExecControl parse_exec_control(const std::string& message) {
    ExecControl c;
    auto j = nlohmann::json::parse(message, nullptr, false);
    if (!j.is_object()) return c;
    auto command = j.value("command", std::string());
    if (command == "window-resize" && j.contains("args") && j["args"].is_object()) {
        const auto& args = j["args"];
        c.width = dimension(args.value("width", nlohmann::json()));
        c.height = dimension(args.value("height", nlohmann::json()));
        if (c.width && c.height) c.kind = ExecControl::Kind::WindowResize;
    } else if (command == "signal" && j.contains("signal") && j["signal"].is_number_integer()) {
        c.signal = j["signal"].get<int>();
        if (c.signal > 0 && c.signal < NSIG) c.kind = ExecControl::Kind::Signal;
    }
    return c;
}

void start_exec_session(OperationSockets& sockets, std::shared_ptr<DetachedOperation> operation,
                        std::map<std::string, std::string> fds, nlohmann::json metadata, ExecTarget target) {
    auto session = std::make_shared<ExecSession>(sockets, std::move(operation), std::move(fds), std::move(metadata),
                                                 std::move(target));
    session->begin();
}

} // namespace lodge::daemon
