// The host facts GET /1.0 reports in `environment`, probed once at start.
#pragma once

#include "api/server.hpp"

#include <string>

namespace lodge::daemon {

// Kernel, architectures, OS, host name, pid and the kernel features
// lodge's runtime relies on. server_version is lodge's own version.
api::ServerEnvironment probe_host_environment(const std::string& server_version);

// "6.18.44-fc-v669" -> true when at least major.minor.
bool kernel_at_least(const std::string& release, int major, int minor);

} // namespace lodge::daemon
