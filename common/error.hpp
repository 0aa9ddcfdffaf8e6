// One error type for all of lodge: an HTTP status and a message a person can
// act on. Libraries below the daemon throw it; the daemon turns it into LXD's
// error envelope.
#pragma once

#include <stdexcept>
#include <string>

namespace lodge {

class Error : public std::runtime_error {
public:
    Error(int status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
    explicit Error(std::string message) : Error(500, std::move(message)) {}

    int status() const noexcept { return status_; }

private:
    int status_;
};

// An Error whose message ends with strerror(errno) and that remembers errno,
// for system calls.
class SystemError : public Error {
public:
    SystemError(std::string what, int err);
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Throws SystemError for the current errno.
[[noreturn]] void throw_errno(const std::string& what);

// Returns v, or throws SystemError with what when v < 0.
template <typename T>
T check(T v, const std::string& what) {
    if (v < 0) throw_errno(what);
    return v;
}

} // namespace lodge
