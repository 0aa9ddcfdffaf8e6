// The connections a server has open (HTTP sessions, WebSockets), so that
// shutdown can end each one gracefully.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace lodge::daemon {

class Connection {
public:
    virtual ~Connection() = default;
    // Ends the connection once its work in progress is done; thread-safe.
    virtual void shutdown() = 0;
    // A strong reference, or null when the connection is being destroyed.
    virtual std::shared_ptr<Connection> lock() = 0;
};

class ConnectionRegistry {
public:
    void add(Connection* c) {
        std::lock_guard lock(mutex_);
        items_.insert(c);
    }
    void remove(Connection* c) {
        std::lock_guard lock(mutex_);
        items_.erase(c);
    }
    bool empty() {
        std::lock_guard lock(mutex_);
        return items_.empty();
    }
    // The registry lock is not held while connections are told: dropping
    // the last reference to one runs its destructor, which unregisters.
    void shutdown_all() {
        std::vector<std::shared_ptr<Connection>> live;
        {
            std::lock_guard lock(mutex_);
            for (auto* c : items_)
                if (auto strong = c->lock()) live.push_back(std::move(strong));
        }
        for (auto& c : live) c->shutdown();
    }

private:
    std::mutex mutex_;
    std::unordered_set<Connection*> items_;
};

} // namespace lodge::daemon
