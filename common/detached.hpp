// Starting a helper that outlives its starter (lodge-monitor, lodge-proxy):
// two forks, so it is nobody's child but init's (or a subreaper's), in a
// session of its own, with nothing of the starter but a status pipe.
#pragma once

#include <string>
#include <vector>

namespace lodge {

// Runs `binary` (an absolute path) with argv (argv[0] the name it shows in
// ps), stdin and stdout on /dev/null,
// stderr appended to `log` (emptied first when truncate_log), and a status
// pipe on fd 3 that the program writes its answer to and closes. Returns
// what it wrote: "" when it wrote nothing; "error cannot run NAME" when the
// exec failed. Only async-signal-safe calls between fork and exec, as the
// starter may be multithreaded.
std::string run_detached(const std::string& binary, const std::vector<std::string>& argv, const std::string& log, bool truncate_log);

} // namespace lodge
