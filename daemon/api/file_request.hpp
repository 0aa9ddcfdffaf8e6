// What the file API reads from a request: the path inside the instance and
// the X-LXD-* headers. Split out of api/files.cpp to be tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lodge::daemon {

// The ?path= of a file request, split into the directory and the last
// component, relative paths taken from the root. Error(400) for an empty
// path, a NUL, or any ".." component (a request never leaves the instance,
// not even on paper).
struct FilePath {
    std::string parent; // "/" or "/a/b"
    std::string name;   // the last component; empty for "/" itself
    std::string full;   // normalised: "/a/b/name"
};
FilePath parse_file_path(const std::string& path);

enum class FileType { File, Directory, Symlink };
enum class WriteMode { Overwrite, Append };

struct FileHeaders {
    std::optional<std::uint32_t> uid, gid; // container ids; absent or -1: leave / default
    std::optional<unsigned> mode;          // permission bits (07777 at most)
    FileType type = FileType::File;
    WriteMode write = WriteMode::Overwrite;
};

// From lower-cased header names (x-lxd-uid, x-lxd-gid, x-lxd-mode,
// x-lxd-type, x-lxd-write); Error(400) naming the header on bad values.
template <typename Headers>
FileHeaders parse_file_headers(const Headers& headers);

FileHeaders parse_file_headers_from(const std::optional<std::string>& uid, const std::optional<std::string>& gid,
                                    const std::optional<std::string>& mode, const std::optional<std::string>& type,
                                    const std::optional<std::string>& write);

template <typename Headers>
FileHeaders parse_file_headers(const Headers& headers) {
    auto get = [&](const char* name) -> std::optional<std::string> {
        auto it = headers.find(name);
        if (it == headers.end()) return std::nullopt;
        return it->second;
    };
    return parse_file_headers_from(get("x-lxd-uid"), get("x-lxd-gid"), get("x-lxd-mode"), get("x-lxd-type"),
                                   get("x-lxd-write"));
}

} // namespace lodge::daemon
