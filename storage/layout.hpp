// What every driver shares on a pool: the directories volumes live in,
// checks on volume names, and temporary names. Work in progress is made
// under a temporary name beside its final place and renamed into place, so
// a crash leaves either nothing or a ".lodge-tmp-" entry that
// remove_leftovers() finds.
#pragma once

#include "storage/driver.hpp"

#include <string>
#include <vector>

namespace lodge::storage {

inline constexpr const char* temp_prefix = ".lodge-tmp-";

bool is_temp_name(const std::string& name);
// ".lodge-tmp-<base>-<random>": unique, and saying what it was for.
std::string temp_name(const std::string& base);
// The same in the directory of `path`.
std::string temp_path_beside(const std::string& path);

std::string parent_dir(const std::string& path);
std::string base_name(const std::string& path);

// Error(400) unless the volume's name (and snapshot name) can be a
// directory name of its own: no "/", not "." or "..", no leading ".".
void check_volume_name(const std::string& name, const char* what = "volume");
void check_volume(const Volume& volume);

// The pool's type directories (containers, containers-snapshots, ...).
std::vector<std::string> layout_dirs();
void make_layout(const std::string& mount_point);

// Temporary entries in the type directories and snapshot directories.
std::vector<std::string> find_temp_entries(const std::string& mount_point);

// rename(2) that never replaces: Error(409) when `to` exists.
void rename_noreplace(const std::string& from, const std::string& to);
// Atomically swaps two paths (renameat2 RENAME_EXCHANGE).
void exchange_paths(const std::string& a, const std::string& b);

// A volume's name and its snapshot's name in messages.
std::string describe(const Volume& volume);

} // namespace lodge::storage
