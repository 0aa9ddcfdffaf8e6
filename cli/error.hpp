// The one error type of the client: a message a person can act on, printed
// as "Error: <message>", and the exit status that goes with it.
#pragma once

#include <stdexcept>
#include <string>

namespace lodge::cli {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int exit_code = 1)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const { return exit_code_; }

private:
    int exit_code_;
};

} // namespace lodge::cli
