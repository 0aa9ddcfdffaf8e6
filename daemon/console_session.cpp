// Console sessions: the wait for the client, then one thread relaying
// between the websocket and the monitor's SOCK_SEQPACKET console stream.
#include "daemon/console_session.hpp"

#include "common/error.hpp"
#include "daemon/relay_session.hpp"
#include "runtime/monitor_client.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lodge::daemon {

namespace {

constexpr std::chrono::seconds connect_timeout{10};

class ConsoleSession : public RelaySession<ConsoleSession> {
    friend class RelaySession<ConsoleSession>;

public:
    ConsoleSession(OperationSockets& sockets, std::shared_ptr<DetachedOperation> op,
                   std::map<std::string, std::string> fds, std::string run_dir, std::string runtime_name)
        : RelaySession(sockets, std::move(op), std::move(fds)), run_dir_(std::move(run_dir)),
          runtime_name_(std::move(runtime_name)) {}

private:
    void attach(const std::string& name, std::shared_ptr<WebSocket> ws) {
        std::weak_ptr<ConsoleSession> weak = weak_from_this();
        if (name == "0") {
            ws->on_message([weak](std::string data, bool binary) {
                auto self = weak.lock();
                if (!self || !binary || data.empty()) return;
                {
                    std::lock_guard lock(self->mutex_);
                    self->input_ += data;
                }
                self->wakeup();
            });
        }
        // The client detaches by closing either websocket.
        ws->on_close([weak] {
            if (auto self = weak.lock()) {
                self->detached_ = true;
                self->wakeup();
            }
        });
        {
            std::lock_guard lock(mutex_);
            if (finished_) {
                ws->close();
                return;
            }
            open_[name] = ws;
        }
        wakeup();
    }

    std::shared_ptr<WebSocket> socket0() {
        std::lock_guard lock(mutex_);
        auto it = open_.find("0");
        return it == open_.end() ? nullptr : it->second;
    }

    void run() {
        std::string err;
        try {
            const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
            while (!socket0() && !stop_ && !detached_) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                  std::chrono::steady_clock::now());
                if (left.count() <= 0) throw Error(400, "Timed out waiting for websockets to connect");
                pollfd p{wake_.get(), POLLIN, 0};
                ::poll(&p, 1, static_cast<int>(left.count()));
                uint64_t v;
                (void)!::read(wake_.get(), &v, sizeof v);
            }
            if (!stop_ && !detached_) relay();
        } catch (const std::exception& e) {
            err = e.what();
        }
        finish(err);
    }

    void relay() {
        auto client = runtime::MonitorClient::connect(run_dir_, runtime_name_);
        client.call("console");
        UniqueFd mon = runtime::MonitorClient::release(std::move(client));
        auto ws = socket0();
        wakeup(); // input typed while the session was starting
        while (!stop_ && !detached_) {
            pollfd p[2] = {{wake_.get(), POLLIN, 0}, {mon.get(), POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR) continue;
                throw SystemError("poll", errno);
            }
            if (p[0].revents) {
                uint64_t v;
                (void)!::read(wake_.get(), &v, sizeof v);
                std::string input;
                {
                    std::lock_guard lock(mutex_);
                    input.swap(input_);
                }
                // One datagram per chunk the monitor reads whole.
                for (std::size_t off = 0; off < input.size(); off += 4096) {
                    auto n = std::min<std::size_t>(4096, input.size() - off);
                    if (::send(mon.get(), input.data() + off, n, MSG_NOSIGNAL) < 0) return;
                }
            }
            if (p[1].revents) {
                char buf[8192];
                ssize_t n = ::recv(mon.get(), buf, sizeof buf, 0);
                if (n <= 0) return; // the container stopped
                ws->send_binary(std::string(buf, static_cast<std::size_t>(n)));
            }
        }
    }

    void finish(const std::string& err) {
        std::map<std::string, std::shared_ptr<WebSocket>> ws;
        {
            std::lock_guard lock(mutex_);
            finished_ = true;
            ws.swap(open_);
        }
        for (auto& [name, s] : ws) s->close();
        op_->end(stop_ ? "lodged is shutting down" : err);
        mark_done();
    }

    std::string run_dir_, runtime_name_;
    std::map<std::string, std::shared_ptr<WebSocket>> open_;
    std::string input_;
    std::atomic<bool> detached_{false};
};

} // namespace

void start_console_session(OperationSockets& sockets, std::shared_ptr<DetachedOperation> operation,
                           std::map<std::string, std::string> fds, std::string run_dir, std::string runtime_name) {
    std::make_shared<ConsoleSession>(sockets, std::move(operation), std::move(fds), std::move(run_dir),
                                     std::move(runtime_name))
        ->begin();
}

} // namespace lodge::daemon
