// Walking a volume's tree without following anything in it: removing it and
// adding up what it occupies. Trees hold guest data, so every step is
// relative to an open directory and refuses symlinks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace lodge::storage {

struct DirEntry {
    std::string name;
    unsigned char type; // d_type: DT_DIR, DT_REG ... or DT_UNKNOWN
    ino_t ino;
};

// All entries of the directory dir_fd but "." and "..", read at once so no
// stream fd stays open while the caller descends. `where` names it in errors.
std::vector<DirEntry> read_dir(int dir_fd, const std::string& where);

// Removes `path` and everything below it; a missing path is not an error.
// Throws lodge::SystemError naming what could not be removed.
void remove_tree(const std::string& path);

// Removes everything below the directory `dir_fd` (which stays).
void remove_tree_contents(int dir_fd);

// Bytes allocated to the tree (st_blocks * 512), each hardlinked inode once.
std::uint64_t tree_usage(const std::string& path);

} // namespace lodge::storage
