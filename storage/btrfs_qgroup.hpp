// btrfs quota groups: turning quotas on, limiting a subvolume's qgroup and
// reading what it references, through the kernel's ioctls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lodge::storage::btrfs {

// Whether quotas are on for the filesystem holding fd.
bool quotas_enabled(int fd);
void enable_quotas(int fd);

// The max_referenced limit of the subvolume `fd` is in; nullopt clears it.
void set_limit(int subvolume_fd, std::optional<std::uint64_t> bytes);
std::optional<std::uint64_t> limit(int fs_fd, std::uint64_t subvolume_id);

// Bytes the subvolume's qgroup references, or nullopt when the numbers are
// not trustworthy (quotas off, rescan running, inconsistent).
std::optional<std::uint64_t> referenced(int fs_fd, std::uint64_t subvolume_id);

} // namespace lodge::storage::btrfs
