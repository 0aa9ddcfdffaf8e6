#include "common/path.hpp"

#include "common/error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace lodge {

int try_open_in_root(int root_fd, const std::string& path, int flags, unsigned mode, bool no_symlinks) noexcept {
    struct open_how how = {};
    how.flags = static_cast<unsigned>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
    const char* p = path.empty() ? "." : path.c_str();
    for (;;) {
        long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        if (errno != EAGAIN && errno != EINTR) return -errno;
    }
}

UniqueFd open_in_root(int root_fd, const std::string& path, int flags, unsigned mode, bool no_symlinks) {
    int fd = try_open_in_root(root_fd, path, flags, mode, no_symlinks);
    if (fd < 0) throw SystemError("open " + path + " inside the root", -fd);
    return UniqueFd(fd);
}

UniqueFd make_dir_in_root(int root_fd, const std::string& path, unsigned mode) {
    UniqueFd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
    if (!dir) throw_errno("dup");
    size_t pos = 0;
    while (pos < path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        std::string part = path.substr(pos, next - pos);
        pos = next + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") throw Error(400, "path " + path + " leaves its root");
        if (::mkdirat(dir.get(), part.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir " + path);
        UniqueFd sub(::openat(dir.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw_errno("open " + path + " (not a directory, or a symlink)");
        dir = std::move(sub);
    }
    return dir;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string unescape_octal(const std::string& escaped) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] == '\\' && i + 3 < escaped.size() && octal(escaped[i + 1]) && octal(escaped[i + 2]) &&
            octal(escaped[i + 3])) {
            out += static_cast<char>(((escaped[i + 1] - '0') << 6 | (escaped[i + 2] - '0') << 3 | (escaped[i + 3] - '0')) & 0xff);
            i += 3;
            continue;
        }
        out += escaped[i];
    }
    return out;
}

} // namespace lodge
