// Building and comparing container-like trees for the storage tests.
#include "tests/integration/storage_tree.hpp"

#include "tests/integration/harness.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace lodge::test {

namespace {

std::string hex(const std::string& s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string content_hash(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return "unreadable";
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        for (ssize_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
    ::close(fd);
    return std::to_string(h);
}

std::string xattrs_of(const std::string& path) {
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
    if (n <= 0) return "";
    std::vector<std::string> list;
    for (ssize_t pos = 0; pos < n; pos += static_cast<ssize_t>(std::strlen(names + pos)) + 1) list.emplace_back(names + pos);
    std::sort(list.begin(), list.end());
    std::string out;
    for (const auto& name : list) {
        char value[4096];
        ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
        out += " " + name + "=" + (v >= 0 ? hex(std::string(value, static_cast<size_t>(v))) : "?");
    }
    return out;
}

} // namespace

// Everything a faithful copy keeps, one line per path (relative to root).
std::map<std::string, std::string> manifest(const std::string& root) {
    std::map<std::string, std::string> out;
    std::map<ino_t, std::string> first_link;
    std::vector<std::string> paths{""};
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
        paths.push_back(it->path().lexically_relative(root).string());
    std::sort(paths.begin(), paths.end());
    for (const auto& rel : paths) {
        const std::string path = rel.empty() ? root : root + "/" + rel;
        struct stat st {};
        if (::lstat(path.c_str(), &st) < 0) {
            out[rel] = "vanished";
            continue;
        }
        std::ostringstream line;
        line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " mtime "
             << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
        if (S_ISREG(st.st_mode)) line << " size " << st.st_size << " data " << content_hash(path);
        if (S_ISREG(st.st_mode) && rel.find("sparse") != std::string::npos) line << " blocks " << st.st_blocks;
        if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(path).string();
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line << " dev " << major(st.st_rdev) << "," << minor(st.st_rdev);
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            auto [it, fresh] = first_link.try_emplace(st.st_ino, rel);
            line << " links " << st.st_nlink << " group " << it->second;
        }
        line << xattrs_of(path);
        out[rel] = line.str();
    }
    return out;
}

// Equal manifests, or the paths that differ and how.
::testing::AssertionResult same_tree(const std::map<std::string, std::string>& got,
                                     const std::map<std::string, std::string>& want) {
    std::string diff;
    for (const auto& [path, line] : want) {
        auto it = got.find(path);
        if (it == got.end()) diff += "\n  missing  " + path + ": " + line;
        else if (it->second != line) diff += "\n  differs  " + path + ": " + it->second + "\n  expected " + path + ": " + line;
    }
    for (const auto& [path, line] : got)
        if (!want.count(path)) diff += "\n  extra    " + path + ": " + line;
    if (diff.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "trees differ:" << diff;
}

void must(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_file(const std::string& path, const std::string& data, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    must(fd >= 0, "creating " + path);
    must(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()), "writing " + path);
    ::close(fd);
}

void own(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
    must(::lchown(path.c_str(), uid, gid) == 0, "chown " + path);
    must(::chmod(path.c_str(), mode) == 0, "chmod " + path);
}

void tool(const std::vector<std::string>& argv) {
    auto r = lodge::test::run(argv);
    if (r.status != 0) throw std::runtime_error(argv[0] + " failed: " + r.err);
}

// Fills a volume the way a container's root filesystem looks, ids in a
// container's host range.
void fill_like_container(const std::string& root) {
    for (const char* dir : {"etc", "usr", "usr/bin", "usr/lib", "home", "home/user", "data", "data/shared", "dev", "run"})
        must(::mkdir((root + "/" + dir).c_str(), 0755) == 0, std::string("mkdir ") + dir);
    write_file(root + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
    own(root + "/etc/passwd", 100000, 100000, 0644);
    write_file(root + "/usr/bin/su", std::string(20000, 'x'));
    own(root + "/usr/bin/su", 100000, 100000, 04755);
    write_file(root + "/usr/bin/wall", "wall");
    own(root + "/usr/bin/wall", 100000, 100005, 02755);
    write_file(root + "/usr/bin/ping", "ping");
    own(root + "/usr/bin/ping", 100000, 100000, 0755);
    tool({"setcap", "cap_net_raw+ep", root + "/usr/bin/ping"});
    own(root + "/home/user", 101000, 101000, 0700);
    write_file(root + "/home/user/notes", "private", 0600);
    own(root + "/home/user/notes", 101000, 101000, 0600);
    must(::setxattr((root + "/home/user/notes").c_str(), "user.comment", "hello", 5, 0) == 0, "setxattr user");
    must(::setxattr((root + "/home/user/notes").c_str(), "trusted.lodge", "t", 1, 0) == 0, "setxattr trusted");
    must(::setxattr((root + "/home/user").c_str(), "user.dir", "d", 1, 0) == 0, "setxattr on a directory");
    write_file(root + "/data/acl-file", "acl");
    tool({"setfacl", "-m", "u:100007:rw,g:100009:r", root + "/data/acl-file"});
    tool({"setfacl", "-d", "-m", "u:100008:rwx", root + "/data/shared"});
    tool({"setfacl", "-m", "u:100008:rwx", root + "/data/shared"});
    write_file(root + "/data/a", "linked contents");
    own(root + "/data/a", 100000, 100000, 0640);
    must(::link((root + "/data/a").c_str(), (root + "/data/b").c_str()) == 0, "link b");
    must(::link((root + "/data/a").c_str(), (root + "/usr/lib/c").c_str()) == 0, "link c");
    {
        int fd = ::open((root + "/data/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        must(fd >= 0, "sparse");
        std::string block(65536, 's');
        must(::pwrite(fd, block.data(), block.size(), 0) == 65536, "sparse head");
        must(::pwrite(fd, block.data(), block.size(), 64 << 20) == 65536, "sparse middle");
        must(::ftruncate(fd, 100 << 20) == 0, "sparse size");
        ::close(fd);
    }
    std::string blob(3 << 20, '\0');
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 2654435761u) >> 13);
    write_file(root + "/data/blob", blob);
    write_file(root + "/data/empty", "");
    write_file(root + "/data/no-access", "x", 0);
    own(root + "/data/no-access", 100000, 100000, 0);
    must(::mknod((root + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod chr");
    must(::mknod((root + "/dev/loop7").c_str(), S_IFBLK | 0660, makedev(7, 7)) == 0, "mknod blk");
    own(root + "/dev/loop7", 100000, 100006, 0660);
    must(::mkfifo((root + "/run/initctl").c_str(), 0600) == 0, "mkfifo");
    must(::mknod((root + "/run/socket").c_str(), S_IFSOCK | 0777, 0) == 0, "mknod sock");
    must(::symlink("usr/lib", (root + "/lib").c_str()) == 0, "relative symlink");
    must(::symlink("/etc/passwd", (root + "/abs-link").c_str()) == 0, "absolute symlink");
    must(::symlink("/nonexistent/thing", (root + "/dangling").c_str()) == 0, "dangling symlink");
    must(::symlink("../../../../../etc", (root + "/data/up").c_str()) == 0, "dotdot symlink");
    must(::lchown((root + "/lib").c_str(), 100000, 100000) == 0, "lchown link");
    // Times a copy must keep, directories last (their entries touch them).
    const timespec old[2] = {{1000000000, 5}, {1000000000, 123456789}};
    for (const char* p : {"etc/passwd", "data/blob", "dangling", "data", "etc"})
        must(::utimensat(AT_FDCWD, (root + "/" + p).c_str(), old, AT_SYMLINK_NOFOLLOW) == 0, "utimensat");
}

// What a guest does to its files after a snapshot.
void modify(const std::string& root) {
    write_file(root + "/etc/passwd", "changed\n");
    fs::remove(root + "/data/blob");
    fs::remove(root + "/data/b");
    write_file(root + "/data/new-file", "new");
    fs::remove_all(root + "/home/user");
    must(::chmod((root + "/usr/bin/su").c_str(), 0755) == 0, "chmod su");
    must(::removexattr((root + "/usr/bin/ping").c_str(), "security.capability") == 0, "drop capability");
    write_file(root + "/data/sparse", "no longer sparse");
}


} // namespace lodge::test
