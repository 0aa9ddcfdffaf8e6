// The registry of operations that take websockets.
#include "daemon/operation_sockets.hpp"

#include "common/certificate.hpp"

#include "common/error.hpp"

#include <sys/random.h>

#include <vector>

namespace lodge::daemon {

OperationSockets::~OperationSockets() {
    std::map<std::string, std::shared_ptr<OperationChannel>> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(channels_);
    }
    for (auto& [id, channel] : left) channel->shutdown();
}

void OperationSockets::add(const std::string& operation_id, std::shared_ptr<OperationChannel> channel) {
    std::lock_guard lock(mutex_);
    channels_[operation_id] = std::move(channel);
}

void OperationSockets::remove(const std::string& operation_id) {
    std::shared_ptr<OperationChannel> gone; // released outside the lock
    std::lock_guard lock(mutex_);
    auto it = channels_.find(operation_id);
    if (it == channels_.end()) return;
    gone = std::move(it->second);
    channels_.erase(it);
}

WebSocketUpgrade OperationSockets::connect(const std::string& operation_id, const std::string& secret) {
    std::shared_ptr<OperationChannel> channel;
    {
        std::lock_guard lock(mutex_);
        auto it = channels_.find(operation_id);
        if (it == channels_.end()) throw Error(404, "Operation " + operation_id + " takes no websockets (now)");
        channel = it->second;
    }
    return channel->connect(secret);
}

std::string random_secret() { return random_hex(32); }

} // namespace lodge::daemon
