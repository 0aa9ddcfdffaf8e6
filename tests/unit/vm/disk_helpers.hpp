// Shared pieces of the VM disk tests: shell commands that build test disks,
// byte patches for hostile headers, and an inotify watch that proves a file
// was never opened.
#pragma once

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lodge::vm::test {

// Runs a shell command, output to stderr of the test; returns its status.
inline int sh(const std::string& command) {
    int status = std::system(("set -e; { " + command + "\n} >&2").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The command's stdout.
inline std::string sh_output(const std::string& command) {
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

inline bool have(const std::string& tool) { return sh("command -v " + tool + " >/dev/null") == 0; }

inline void write_at(const std::string& path, std::uint64_t offset, const std::string& bytes) {
    int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0 || ::pwrite(fd, bytes.data(), bytes.size(), off_t(offset)) != ssize_t(bytes.size())) std::abort();
    ::close(fd);
}

inline std::string read_at(const std::string& path, std::uint64_t offset, std::size_t length) {
    std::string buf(length, '\0');
    int fd = ::open(path.c_str(), O_RDONLY);
    ssize_t n = fd < 0 ? -1 : ::pread(fd, buf.data(), length, off_t(offset));
    if (fd >= 0) ::close(fd);
    buf.resize(n < 0 ? 0 : std::size_t(n));
    return buf;
}

inline std::string le32_bytes(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = char(v >> (8 * i));
    return s;
}

inline std::string le64_bytes(std::uint64_t v) { return le32_bytes(std::uint32_t(v)) + le32_bytes(std::uint32_t(v >> 32)); }

inline std::uint32_t le32_of(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
    return v;
}

inline std::uint64_t le64_of(const std::string& s, std::size_t at) {
    return le32_of(s, at) | std::uint64_t(le32_of(s, at + 4)) << 32;
}

// Watches a file for IN_OPEN from the moment it is constructed.
class OpenWatch {
public:
    explicit OpenWatch(const std::string& path) {
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd_ >= 0) ::inotify_add_watch(fd_, path.c_str(), IN_OPEN);
    }
    ~OpenWatch() {
        if (fd_ >= 0) ::close(fd_);
    }
    OpenWatch(const OpenWatch&) = delete;
    OpenWatch& operator=(const OpenWatch&) = delete;
    bool valid() const { return fd_ >= 0; }
    // True when the file was opened since construction.
    bool opened() const {
        char buf[4096];
        return ::read(fd_, buf, sizeof buf) > 0;
    }

private:
    int fd_ = -1;
};

inline int open_read(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }

} // namespace lodge::vm::test
