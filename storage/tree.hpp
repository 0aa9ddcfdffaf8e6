// Walking a volume's tree without following anything in it: removing it and
// adding up what it occupies. Trees hold guest data, so every step is
// relative to an open directory and refuses symlinks.
#pragma once

#include <cstdint>
#include <string>

namespace lodge::storage {

// Removes `path` and everything below it; a missing path is not an error.
// Throws lodge::SystemError naming what could not be removed.
void remove_tree(const std::string& path);

// Removes everything below the directory `dir_fd` (which stays).
void remove_tree_contents(int dir_fd);

// Bytes allocated to the tree (st_blocks * 512), each hardlinked inode once.
std::uint64_t tree_usage(const std::string& path);

} // namespace lodge::storage
