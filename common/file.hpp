// Reading and writing small files (proc, sysfs, cgroupfs, state files)
// with errors that name the path.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace lodge {

std::string read_file(const std::string& path);
// The same, but "" when the file does not exist.
std::string read_file_if_exists(const std::string& path);
// Writes data with a single write(2), as cgroupfs and procfs require.
void write_file(const std::string& path, const std::string& data);
// Writes data to path.tmp and renames it over path.
void write_file_atomic(const std::string& path, const std::string& data, unsigned mode = 0644);
// Like write_file, but returns errno (0 on success) instead of throwing.
int try_write_file(const std::string& path, const std::string& data) noexcept;
// Reads fd until end of file (a pipe whose writers have all closed, e.g.
// on exec); a read error ends it early.
std::string read_to_eof(int fd) noexcept;
// What an open file holds, or nullopt when it holds more than `max` bytes
// (read as far as max + 1). Throws SystemError naming `what` on a read error.
std::optional<std::string> read_at_most(int fd, std::size_t max, const std::string& what);
// mkdir -p; returns true when the last component was created.
bool make_dirs(const std::string& path, unsigned mode = 0755);

} // namespace lodge
