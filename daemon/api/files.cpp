// /1.0/instances/{name}/files?path=... (and /1.0/containers/...): read,
// write and delete files in an instance's root filesystem, stopped or
// running. Every path is resolved with openat2(RESOLVE_IN_ROOT) from the
// rootfs, so "..", absolute symlinks and magic links never reach the host;
// ids are the container's, translated when the rootfs is shifted on disk.
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/path.hpp"
#include "daemon/api/file_request.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "runtime/shift.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace lodge::daemon {

FilePath parse_file_path(const std::string& path) {
    // lxc sends "root/x" for "NAME/root/x": relative paths start at the root.
    if (path.empty()) throw Error(400, "A file path is required (?path=)");
    if (path.find('\0') != std::string::npos) throw Error(400, "File path contains a NUL byte");
    std::vector<std::string> parts;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        auto next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        auto part = path.substr(pos, next - pos);
        pos = next + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") throw Error(400, "File path \"" + path + "\" has a \"..\" component: give a path without it");
        parts.push_back(std::move(part));
    }
    FilePath out;
    out.parent = "/";
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) out.parent += (i ? "/" : "") + parts[i];
    if (!parts.empty()) out.name = parts.back();
    out.full = out.parent == "/" ? "/" + out.name : out.parent + "/" + out.name;
    return out;
}

namespace {

std::uint32_t parse_id(const std::string& header, const std::string& v, bool& unset) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < -1 || n > 0xfffffffeLL)
        throw Error(400, "Invalid " + header + " header \"" + v + "\": give a number");
    unset = n == -1;
    return static_cast<std::uint32_t>(n < 0 ? 0 : n);
}

} // namespace

FileHeaders parse_file_headers_from(const std::optional<std::string>& uid, const std::optional<std::string>& gid,
                                    const std::optional<std::string>& mode, const std::optional<std::string>& type,
                                    const std::optional<std::string>& write) {
    FileHeaders h;
    bool unset = false;
    if (uid) {
        auto v = parse_id("X-LXD-uid", *uid, unset);
        if (!unset) h.uid = v;
    }
    if (gid) {
        auto v = parse_id("X-LXD-gid", *gid, unset);
        if (!unset) h.gid = v;
    }
    if (mode && !mode->empty()) {
        char* end = nullptr;
        unsigned long m = std::strtoul(mode->c_str(), &end, 8);
        if (*end != '\0' || m > 07777) throw Error(400, "Invalid X-LXD-mode header \"" + *mode + "\": give octal, e.g. 0644");
        h.mode = static_cast<unsigned>(m);
    }
    if (type && !type->empty()) {
        if (*type == "file")
            h.type = FileType::File;
        else if (*type == "directory")
            h.type = FileType::Directory;
        else if (*type == "symlink")
            h.type = FileType::Symlink;
        else
            throw Error(400, "Invalid X-LXD-type header \"" + *type + "\": file, directory or symlink");
    }
    if (write && !write->empty()) {
        if (*write == "overwrite")
            h.write = WriteMode::Overwrite;
        else if (*write == "append")
            h.write = WriteMode::Append;
        else
            throw Error(400, "Invalid X-LXD-write header \"" + *write + "\": overwrite or append");
    }
    return h;
}

namespace {

// errno as the API's status: what the client got wrong vs. what broke.
[[noreturn]] void fail(int err, const std::string& what) {
    int status = 500;
    switch (err) {
    case ENOENT: status = 404; break;
    case EEXIST:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENOTEMPTY:
    case EINVAL:
    case ENAMETOOLONG: status = 400; break;
    case EACCES:
    case EPERM:
    case EROFS: status = 403; break;
    default: break;
    }
    throw Error(status, what + ": " + std::strerror(err));
}

// The instance's root and how its ids map to the disk's.
struct Root {
    UniqueFd fd;
    runtime::ShiftRange shift{0, 0, 0};
    bool shifted = false;

    uid_t uid_to_disk(std::uint32_t id) const { return to_disk(id, shift.uid_base); }
    gid_t gid_to_disk(std::uint32_t id) const { return to_disk(id, shift.gid_base); }
    std::uint32_t uid_from_disk(uid_t id) const { return from_disk(id, shift.uid_base); }
    std::uint32_t gid_from_disk(gid_t id) const { return from_disk(id, shift.gid_base); }

private:
    std::uint32_t to_disk(std::uint32_t id, std::uint32_t base) const {
        if (!shifted) return id;
        if (id >= shift.size) throw Error(400, "Id " + std::to_string(id) + " is outside the instance's id range");
        return base + id;
    }
    std::uint32_t from_disk(std::uint32_t id, std::uint32_t base) const {
        if (!shifted) return id;
        return id >= base && id - base < shift.size ? id - base : 65534; // nobody, as the kernel shows it
    }
};

Root open_root(Daemon& daemon, const Request& request) {
    auto project = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    auto where = daemon.instances().locate(project, request.param("name"));
    Root root;
    root.fd.reset(::open(where.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.fd) throw Error(500, "Instance " + where.name + ": its root filesystem is missing (" + where.rootfs + ")");
    root.shifted = runtime::shifted_range(where.rootfs, root.shift);
    return root;
}

UniqueFd open_at(const Root& root, const std::string& path, int flags, unsigned mode = 0) {
    int fd = try_open_in_root(root.fd.get(), path, flags, mode);
    if (fd < 0) fail(-fd, path);
    return UniqueFd(fd);
}

std::string file_type(mode_t m) {
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "symlink";
    return "file";
}

void add_stat_headers(HttpResponse& r, const Root& root, const struct stat& st) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    char modified[64];
    struct tm tm;
    ::gmtime_r(&st.st_mtime, &tm);
    std::strftime(modified, sizeof modified, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    r.headers.emplace_back("X-LXD-uid", std::to_string(root.uid_from_disk(st.st_uid)));
    r.headers.emplace_back("X-LXD-gid", std::to_string(root.gid_from_disk(st.st_gid)));
    r.headers.emplace_back("X-LXD-mode", mode);
    r.headers.emplace_back("X-LXD-modified", modified);
    r.headers.emplace_back("X-LXD-type", file_type(st.st_mode));
}

std::vector<std::string> list_dir(int dir_fd, const std::string& path) {
    int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) fail(errno, path);
    DIR* d = ::fdopendir(fd);
    if (!d) {
        int e = errno;
        ::close(fd);
        fail(e, path);
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    return names;
}

HttpResponse get_file(Daemon& daemon, const Request& request) {
    auto path = parse_file_path(request.query_value("path"));
    auto root = open_root(daemon, request);
    // The final component as it is (a symlink is reported, not followed).
    auto node = open_at(root, path.full, O_PATH | O_NOFOLLOW);
    struct stat st;
    if (::fstat(node.get(), &st) != 0) fail(errno, path.full);
    HttpResponse r;
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(node.get(), "", target, sizeof target);
        if (n < 0) fail(errno, path.full);
        r.content_type = "application/octet-stream";
        r.body.assign(target, static_cast<std::size_t>(n));
    } else if (S_ISDIR(st.st_mode)) {
        auto dir = open_at(root, path.full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        r = to_http(api::sync_response(list_dir(dir.get(), path.full)));
    } else if (S_ISREG(st.st_mode)) {
        // O_NONBLOCK: had it become a fifo meanwhile, opening must not hang.
        auto file = open_at(root, path.full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        if (::fstat(file.get(), &st) != 0) fail(errno, path.full);
        if (!S_ISREG(st.st_mode)) throw Error(400, path.full + " is not a regular file");
        r.content_type = "application/octet-stream";
        r.body = read_to_eof(file.get());
        r.headers.emplace_back("Content-Disposition", "inline;filename=" + path.name);
    } else {
        throw Error(400, path.full + " is a device, socket or fifo: only files, directories and symlinks are served");
    }
    add_stat_headers(r, root, st);
    return r;
}

void write_all(int fd, const std::string& data, const std::string& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(errno, "write " + path);
        }
        done += static_cast<std::size_t>(n);
    }
}

// Ownership: what the client asked for, else root's for something new.
void set_owner(const Root& root, int fd, const char* name, const FileHeaders& h, bool created, int flags) {
    if (!h.uid && !h.gid && !created) return;
    uid_t uid = h.uid ? root.uid_to_disk(*h.uid) : (created ? root.uid_to_disk(0) : static_cast<uid_t>(-1));
    gid_t gid = h.gid ? root.gid_to_disk(*h.gid) : (created ? root.gid_to_disk(0) : static_cast<gid_t>(-1));
    if (::fchownat(fd, name, uid, gid, flags) != 0) fail(errno, "chown");
}

api::Response post_file(Daemon& daemon, const Request& request) {
    auto path = parse_file_path(request.query_value("path"));
    if (path.name.empty()) throw Error(400, "Cannot write the instance's root directory itself");
    auto headers = parse_file_headers(request.headers);
    auto root = open_root(daemon, request);
    auto parent = open_at(root, path.parent, O_PATH | O_DIRECTORY);
    const char* name = path.name.c_str();
    struct stat st;
    const bool exists = ::fstatat(parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0;

    switch (headers.type) {
    case FileType::File: {
        if (exists && S_ISDIR(st.st_mode)) throw Error(400, path.full + " is a directory");
        int flags = O_WRONLY | O_CREAT | O_NONBLOCK | (headers.write == WriteMode::Append ? O_APPEND : O_TRUNC);
        // Through the parent, resolved in the root: a symlink named here is
        // followed inside the instance, never to the host.
        auto file = open_at(root, path.full, flags, headers.mode.value_or(0644));
        if (::fstat(file.get(), &st) != 0) fail(errno, path.full);
        if (!S_ISREG(st.st_mode)) throw Error(400, path.full + " is not a regular file");
        write_all(file.get(), request.body, path.full);
        set_owner(root, file.get(), "", headers, !exists, AT_EMPTY_PATH);
        if (headers.mode && ::fchmod(file.get(), *headers.mode) != 0) fail(errno, "chmod " + path.full);
        break;
    }
    case FileType::Directory: {
        if (exists && !S_ISDIR(st.st_mode)) throw Error(400, path.full + " exists and is not a directory");
        if (!exists && ::mkdirat(parent.get(), name, headers.mode.value_or(0755)) != 0) fail(errno, path.full);
        UniqueFd dir(::openat(parent.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) fail(errno, path.full);
        set_owner(root, dir.get(), "", headers, !exists, AT_EMPTY_PATH);
        if (headers.mode && ::fchmod(dir.get(), *headers.mode) != 0) fail(errno, "chmod " + path.full);
        break;
    }
    case FileType::Symlink: {
        if (request.body.empty() || request.body.find('\0') != std::string::npos)
            throw Error(400, "A symlink's target (the request body) must be a non-empty path");
        if (exists) {
            if (S_ISDIR(st.st_mode)) throw Error(400, path.full + " is a directory");
            if (::unlinkat(parent.get(), name, 0) != 0) fail(errno, path.full);
        }
        if (::symlinkat(request.body.c_str(), parent.get(), name) != 0) fail(errno, path.full);
        set_owner(root, parent.get(), name, headers, true, AT_SYMLINK_NOFOLLOW);
        break;
    }
    }
    return api::sync_response(nlohmann::json::object());
}

api::Response delete_file(Daemon& daemon, const Request& request) {
    auto path = parse_file_path(request.query_value("path"));
    if (path.name.empty()) throw Error(400, "Cannot delete the instance's root directory");
    auto root = open_root(daemon, request);
    auto parent = open_at(root, path.parent, O_PATH | O_DIRECTORY);
    if (::unlinkat(parent.get(), path.name.c_str(), 0) != 0) {
        if (errno != EISDIR) fail(errno, path.full);
        if (::unlinkat(parent.get(), path.name.c_str(), AT_REMOVEDIR) != 0) fail(errno, path.full);
    }
    return api::sync_response(nlohmann::json::object());
}

} // namespace

void add_file_routes(Router& router, Daemon& daemon) {
    for (std::string tree : {"/1.0/instances", "/1.0/containers"}) {
        router.add("GET", tree + "/{name}/files", [&daemon](Request& r) -> Reply { return get_file(daemon, r); });
        router.add("POST", tree + "/{name}/files", [&daemon](Request& r) -> Reply { return post_file(daemon, r); });
        router.add("DELETE", tree + "/{name}/files",
                   [&daemon](Request& r) -> Reply { return delete_file(daemon, r); });
    }
}

} // namespace lodge::daemon
