#include "runtime/console.hpp"

#include "common/error.hpp"

#include <fcntl.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>

namespace lodge::runtime {

Pty open_console_pty() {
    Pty pty;
    pty.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!pty.master) throw_errno("open /dev/ptmx");
    if (::unlockpt(pty.master.get()) < 0) throw_errno("unlockpt");
    char name[64];
    if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) throw_errno("ptsname");
    pty.slave_path = name;
    return pty;
}

void RingBuffer::write(const char* data, size_t n) {
    if (n >= cap_) {
        data += n - cap_;
        n = cap_;
    }
    size_t first = std::min(n, cap_ - head_);
    std::memcpy(buf_.get() + head_, data, first);
    std::memcpy(buf_.get(), data + first, n - first);
    if (head_ + n >= cap_) full_ = true;
    head_ = (head_ + n) % cap_;
}

std::string RingBuffer::contents() const {
    if (!full_) return std::string(buf_.get(), head_);
    std::string out(buf_.get() + head_, cap_ - head_);
    out.append(buf_.get(), head_);
    return out;
}

} // namespace lodge::runtime
