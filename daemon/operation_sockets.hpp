// Operations that clients talk to over websockets (exec, console): each
// registers a channel under its operation id, and
// GET /1.0/operations/{id}/websocket?secret=S hands the connection to it.
#pragma once

#include "daemon/http/websocket.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace lodge::daemon {

class OperationChannel {
public:
    virtual ~OperationChannel() = default;
    // The upgrade for the websocket whose secret this is; Error(403) for a
    // secret it does not know or one already used.
    virtual WebSocketUpgrade connect(const std::string& secret) = 0;
    // lodged is stopping: end now (the operation too) and return once
    // nothing of the channel runs any more.
    virtual void shutdown() = 0;
};

class OperationSockets {
public:
    OperationSockets() = default;
    ~OperationSockets(); // shuts down the channels left
    OperationSockets(const OperationSockets&) = delete;
    OperationSockets& operator=(const OperationSockets&) = delete;

    void add(const std::string& operation_id, std::shared_ptr<OperationChannel> channel);
    void remove(const std::string& operation_id);
    // Error(404) when the operation takes no (more) websockets.
    WebSocketUpgrade connect(const std::string& operation_id, const std::string& secret);

private:
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<OperationChannel>> channels_;
};

// A fresh random secret: 32 bytes from getrandom, in hex (as LXD's).
std::string random_secret();

} // namespace lodge::daemon
