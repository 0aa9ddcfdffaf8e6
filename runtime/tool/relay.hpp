// Copying between the user's terminal and a pty master (exec -t, console).
#pragma once

namespace lodge::runtime::tool {

// Relays stdin → out_fd and in_fd → stdout until in_fd closes or, when
// stop_on_stdin_eof, stdin ends. With a terminal on stdin it is put in raw
// mode for the duration, and window size changes are passed to resize_fd
// (a pty master; -1 for none).
// escape (e.g. 0x1d, Ctrl-]) typed on stdin ends the relay; -1 for none.
void relay(int in_fd, int out_fd, int resize_fd, bool stop_on_stdin_eof, int escape = -1);

} // namespace lodge::runtime::tool
