#include "runtime/console.hpp"

#include "common/error.hpp"

#include <fcntl.h>
#include <stdlib.h>

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
    if (n >= buf_.size()) {
        data += n - buf_.size();
        n = buf_.size();
    }
    size_t first = std::min(n, buf_.size() - head_);
    std::copy(data, data + first, buf_.begin() + static_cast<long>(head_));
    std::copy(data + first, data + n, buf_.begin());
    if (head_ + n >= buf_.size()) full_ = true;
    head_ = (head_ + n) % buf_.size();
}

std::string RingBuffer::contents() const {
    if (!full_) return std::string(buf_.begin(), buf_.begin() + static_cast<long>(head_));
    std::string out(buf_.begin() + static_cast<long>(head_), buf_.end());
    out.append(buf_.begin(), buf_.begin() + static_cast<long>(head_));
    return out;
}

} // namespace lodge::runtime
