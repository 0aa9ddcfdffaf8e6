// The body of POST /1.0/instances/{name}/exec and what lodged makes of it:
// split out of api/exec.cpp so the parsing can be tested on its own.
#pragma once

#include "runtime/exec_spawn.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lodge::daemon {

struct ExecPost {
    std::vector<std::string> command;
    std::map<std::string, std::string> environment;
    bool wait_for_websocket = false;
    bool interactive = false;
    bool record_output = false;
    int width = 0, height = 0;
    std::uint32_t user = 0, group = 0;
    std::string cwd;
};

// Error(400) for a missing command, a relative cwd, bad ids or JSON.
ExecPost parse_exec_post(const std::string& body);
// The environment the command gets: the client's, over LXD's defaults.
std::map<std::string, std::string> exec_environment(const ExecPost& post);
// The runtime's request; cwd defaults to HOME (else /).
runtime::ExecRequest exec_request(const ExecPost& post);

} // namespace lodge::daemon
