// Container-like trees for the storage tests: filling a volume the way a
// container's root filesystem looks, changing it, and a manifest of
// everything a faithful copy keeps, to compare trees by.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace lodge::test {

// One line per path (relative to root): type and mode, owner, mtime, size
// and content hash, link target, device numbers, hardlink group, xattrs,
// and allocated blocks for files named *sparse*.
std::map<std::string, std::string> manifest(const std::string& root);

// Equal manifests, or the paths that differ and how.
::testing::AssertionResult same_tree(const std::map<std::string, std::string>& got,
                                     const std::map<std::string, std::string>& want);

// Files, owners in a container's id range, setuid/setgid, xattrs, ACLs, a
// file capability, hardlinks, a sparse file, device nodes, a fifo, a socket,
// symlinks (relative, absolute, dangling, climbing out) and old times.
void fill_like_container(const std::string& root);
// What a guest does after a snapshot: changes, deletes, adds.
void modify(const std::string& root);

// Throws with errno's text unless ok.
void must(bool ok, const std::string& what);
void write_file(const std::string& path, const std::string& data, mode_t mode = 0644);
void own(const std::string& path, uid_t uid, gid_t gid, mode_t mode);
// Runs a tool (setfacl, setcap, btrfs); throws with its stderr when it fails.
void tool(const std::vector<std::string>& argv);

} // namespace lodge::test
