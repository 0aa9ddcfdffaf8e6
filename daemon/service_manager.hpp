// lodged under systemd: the listening socket it may hand over (socket
// activation), the readiness and stop notifications of Type=notify, and
// whether stderr goes to the journal. Outside systemd all of it is inert.
#pragma once

#include <optional>
#include <string>

namespace lodge::daemon {

// The unix stream socket passed by the service manager (LISTEN_FDS), if
// any; Error when what was passed is not exactly one such socket.
std::optional<int> activated_socket();

// sd_notify(3): "READY=1", "STATUS=...", "STOPPING=1". A no-op without
// NOTIFY_SOCKET.
void notify_service_manager(const std::string& state);

// True when stderr is connected to the journal (JOURNAL_STREAM names it).
bool stderr_is_journal();

} // namespace lodge::daemon
