#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace lodge {

SystemError::SystemError(std::string what, int err)
    : Error(500, what + ": " + std::strerror(err)), code_(err) {}

void throw_errno(const std::string& what) { throw SystemError(what, errno); }

} // namespace lodge
