// A faithful copy of a directory tree for the dir driver's copies, snapshots
// and restores: ownership, modes (setuid/setgid included), xattrs (ACLs and
// file capabilities included), hardlinks, sparse files, device nodes, fifos,
// sockets, symlinks and timestamps. The source is guest data and is never
// trusted: nothing in it is followed.
#pragma once

#include <string>

namespace lodge::storage {

struct CopyOptions {
    // Threads copying file data (the tree walk itself is one thread). Two
    // keep a disk and a core busy at once on ext4, where every byte is copied.
    unsigned data_threads = 2;
};

// Copies the tree at `source` to `target`, which must not exist (its parent
// must). A failed copy removes what it made and throws lodge::Error.
void copy_tree(const std::string& source, const std::string& target, const CopyOptions& options = {});

// The same into `target_fd`, an existing empty directory that takes the
// source root's ownership, mode, xattrs and times. On failure its contents
// are removed again (the directory itself stays).
void copy_tree_into(const std::string& source, int target_fd, const CopyOptions& options = {});

} // namespace lodge::storage
