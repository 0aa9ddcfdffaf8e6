#include "common/file.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace lodge {

std::string read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    return *read_at_most(fd.get(), std::string().max_size(), path);
}

std::optional<std::string> read_at_most(int fd, std::size_t max, const std::string& what) {
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read " + what);
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > max) return std::nullopt;
    }
}

std::string read_file_if_exists(const std::string& path) {
    try {
        return read_file(path);
    } catch (const SystemError& e) {
        if (e.code() == ENOENT) return {};
        throw;
    }
}

std::string read_to_eof(int fd) noexcept {
    std::string out;
    char buf[1024];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

int try_write_file(const std::string& path, const std::string& data) noexcept {
    // O_TRUNC, as a shell's ">" does: kernel files ignore it, and a plain
    // file (a test's stand-in for one) holds just the new value.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return errno;
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) return errno;
    return static_cast<size_t>(n) == data.size() ? 0 : EIO;
}

void write_file(const std::string& path, const std::string& data) {
    if (int err = try_write_file(path, data)) throw SystemError("write " + path, err);
}

void write_file_atomic(const std::string& path, const std::string& data, unsigned mode) {
    std::string tmp = path + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) throw_errno("create " + tmp);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write " + tmp);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename " + tmp);
}

bool make_dirs(const std::string& path, unsigned mode) {
    if (path.empty()) return false;
    if (::mkdir(path.c_str(), mode) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != ENOENT) throw_errno("mkdir " + path);
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) throw_errno("mkdir " + path);
    make_dirs(path.substr(0, slash), mode);
    if (::mkdir(path.c_str(), mode) == 0) return true;
    if (errno == EEXIST) return false;
    throw_errno("mkdir " + path);
}

} // namespace lodge
