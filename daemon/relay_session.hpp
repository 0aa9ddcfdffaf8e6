// What exec and console sessions share: their websockets, admitted by
// per-fd secret and each usable once; a relay thread woken through an
// eventfd; and a shutdown that waits for that thread to be done. Derived
// (CRTP) provides run() (the thread) and attach(name, websocket).
#pragma once

#include "common/error.hpp"
#include "common/fd.hpp"
#include "daemon/operation_sockets.hpp"
#include "daemon/operations.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace lodge::daemon {

template <typename Derived>
class RelaySession : public OperationChannel, public std::enable_shared_from_this<Derived> {
public:
    // Registers the session under its operation and starts the relay thread.
    void begin() {
        auto self = this->shared_from_this();
        sockets_.add(op_->id(), self);
        std::thread([self] { self->run(); }).detach();
    }

    WebSocketUpgrade connect(const std::string& secret) override {
        std::lock_guard lock(mutex_);
        for (auto& [name, s] : secrets_) {
            if (s != secret || used_.count(name)) continue;
            used_[name] = true;
            std::weak_ptr<Derived> weak = this->weak_from_this();
            return WebSocketUpgrade{[weak, name = name](std::shared_ptr<WebSocket> ws) {
                if (auto self = weak.lock())
                    self->attach(name, std::move(ws));
                else
                    ws->close();
            }};
        }
        throw Error(403, "Invalid websocket secret for this operation");
    }

    void shutdown() override {
        stop_ = true;
        wakeup();
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock, [this] { return done_; });
    }

protected:
    RelaySession(OperationSockets& sockets, std::shared_ptr<DetachedOperation> op,
                 std::map<std::string, std::string> fds)
        : sockets_(sockets), op_(std::move(op)), secrets_(std::move(fds)),
          wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (!wake_) throw SystemError("eventfd", errno);
    }

    void wakeup() {
        std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }

    // The last step of the relay thread: the operation takes no more
    // websockets and shutdown() may return.
    void mark_done() {
        sockets_.remove(op_->id());
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
    }

    OperationSockets& sockets_;
    std::shared_ptr<DetachedOperation> op_;
    std::map<std::string, std::string> secrets_; // fd name -> secret
    UniqueFd wake_; // eventfd: a client connected, input, control, stop
    std::mutex mutex_;
    std::map<std::string, bool> used_; // fd names whose secret was spent
    bool finished_ = false;
    bool done_ = false;
    std::condition_variable done_cv_;
    std::atomic<bool> stop_{false};
};

} // namespace lodge::daemon
