// The console over websockets, as LXD's clients attach to it: an operation
// whose fds are "0" (the console's bytes both ways) and "control". It
// relays between websocket 0 and the monitor's console connection until
// the client detaches (closes a websocket) or the container stops.
#pragma once

#include "daemon/operation_sockets.hpp"
#include "daemon/operations.hpp"

#include <map>
#include <memory>
#include <string>

namespace lodge::daemon {

void start_console_session(OperationSockets& sockets, std::shared_ptr<DetachedOperation> operation,
                           std::map<std::string, std::string> fds, std::string run_dir, std::string runtime_name);

} // namespace lodge::daemon
