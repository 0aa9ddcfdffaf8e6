#include "runtime/tool/relay.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::runtime::tool {

namespace {

volatile sig_atomic_t winch = 1;
void on_winch(int) { winch = 1; }

bool write_all(int fd, const char* p, ssize_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, static_cast<size_t>(n));
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= w;
    }
    return true;
}

} // namespace

void relay(int in_fd, int out_fd, int resize_fd, bool stop_on_stdin_eof, int escape) {
    struct termios saved;
    bool tty = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
    if (tty) {
        struct termios raw = saved;
        ::cfmakeraw(&raw);
        ::tcsetattr(0, TCSANOW, &raw);
    }
    struct sigaction sa = {};
    sa.sa_handler = on_winch;
    ::sigaction(SIGWINCH, &sa, nullptr);
    bool stdin_open = true;
    char buf[16384];
    for (;;) {
        if (winch && resize_fd >= 0 && tty) {
            winch = 0;
            struct winsize ws;
            if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(resize_fd, TIOCSWINSZ, &ws);
        }
        struct pollfd fds[2] = {{in_fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(in_fd, buf, sizeof buf);
            if (n <= 0) break;
            if (!write_all(1, buf, n)) break;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) {
                stdin_open = false;
                if (stop_on_stdin_eof) break;
            } else {
                const void* esc = escape >= 0 ? std::memchr(buf, escape, static_cast<size_t>(n)) : nullptr;
                ssize_t upto = esc ? static_cast<const char*>(esc) - buf : n;
                if (upto > 0 && !write_all(out_fd, buf, upto)) break;
                if (esc) break;
            }
        }
    }
    if (tty) ::tcsetattr(0, TCSANOW, &saved);
}

} // namespace lodge::runtime::tool
