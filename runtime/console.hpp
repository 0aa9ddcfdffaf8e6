// The container's console: a pty whose master the monitor holds, and a
// bounded ring buffer of what the guest wrote to it.
#pragma once

#include "common/fd.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace lodge::runtime {

struct Pty {
    UniqueFd master;
    std::string slave_path; // host path, e.g. /dev/pts/3
};

// Opens a new pty on the host's devpts, unlocked, in raw mode.
Pty open_console_pty();

// Keeps the last `capacity` bytes written to it. The storage is left
// uninitialised so its pages cost memory only once the guest has written
// that much.
class RingBuffer {
public:
    explicit RingBuffer(size_t capacity) : cap_(capacity ? capacity : 1), buf_(new char[cap_]) {}
    void write(const char* data, size_t n);
    std::string contents() const;
    size_t size() const { return full_ ? cap_ : head_; }

private:
    size_t cap_;
    std::unique_ptr<char[]> buf_;
    size_t head_ = 0;
    bool full_ = false;
};

} // namespace lodge::runtime
