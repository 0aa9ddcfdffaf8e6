// The container's console: a pty whose master the monitor holds, and a
// bounded ring buffer of what the guest wrote to it.
#pragma once

#include "common/fd.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace lodge::runtime {

struct Pty {
    UniqueFd master;
    std::string slave_path; // host path, e.g. /dev/pts/3
};

// Opens a new pty on the host's devpts, unlocked, in raw mode.
Pty open_console_pty();

// Keeps the last `capacity` bytes written to it.
class RingBuffer {
public:
    explicit RingBuffer(size_t capacity) : buf_(capacity ? capacity : 1) {}
    void write(const char* data, size_t n);
    std::string contents() const;
    size_t size() const { return full_ ? buf_.size() : head_; }

private:
    std::vector<char> buf_;
    size_t head_ = 0;
    bool full_ = false;
};

} // namespace lodge::runtime
