// exec over websockets, as LXD's clients speak it: an operation whose fds
// (0, 1, 2 and control; 0 and control with a pty) are websockets. The
// command starts once the data websockets are connected; one thread per
// session relays bytes with poll(2) until the command has ended and its
// output is drained, then closes the websockets and ends the operation with
// {"return": code}.
#pragma once

#include "daemon/operation_sockets.hpp"
#include "daemon/operations.hpp"
#include "runtime/exec_spawn.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

namespace lodge::daemon {

struct ExecTarget {
    std::string run_dir;
    std::string runtime_name;
    runtime::ExecRequest request; // pty set for an interactive session
};

// Registers the session with sockets under the operation and starts its
// thread. fds: the secrets the operation's metadata announces.
void start_exec_session(OperationSockets& sockets, std::shared_ptr<DetachedOperation> operation,
                        std::map<std::string, std::string> fds, nlohmann::json metadata, ExecTarget target);

// A control message from the client: window-resize or signal.
struct ExecControl {
    enum class Kind { None, WindowResize, Signal } kind = Kind::None;
    unsigned short width = 0, height = 0;
    int signal = 0;
};
// Parses {"command":"window-resize","args":{"width":"80","height":"24"}}
// and {"command":"signal","signal":15}; Kind::None for anything else.
ExecControl parse_exec_control(const std::string& message);

} // namespace lodge::daemon
