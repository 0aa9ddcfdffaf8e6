// Running a program to its end and keeping what it said: the short-lived
// helpers lodge calls (dnsmasq, which forks its daemon and exits; tc).
#pragma once

#include <string>
#include <vector>

namespace lodge {

struct CommandResult {
    int status = 0;     // the exit code, or 128 + the signal that ended it
    std::string output; // its stdout and stderr together
};

// Runs `binary` (an absolute path) with argv (argv[0] its name) in a session
// of its own, stdin on /dev/null, no descriptor of the caller's but the
// output pipe; no shell. Reads the output until every holder of the pipe
// has closed it, then reaps the program.
CommandResult run_command(const std::string& binary, const std::vector<std::string>& argv);

} // namespace lodge
