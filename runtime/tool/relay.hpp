// Copying between the user's terminal and a pty master (exec -t, console).
#pragma once

namespace lodge::runtime::tool {

// Relays stdin → out_fd and in_fd → stdout until in_fd closes or, when
// stop_on_stdin_eof, stdin ends. With a terminal on stdin it is put in raw
// mode for the duration, and window size changes are passed to resize_fd
// (a pty master; -1 for none).
void relay(int in_fd, int out_fd, int resize_fd, bool stop_on_stdin_eof);

} // namespace lodge::runtime::tool
