// The pure parts of ownership shifting (runtime/shift.cpp): which way an id
// moves, the byte layouts of POSIX ACL and file capability xattrs, and the
// record kept on a shifted root. Apart so unit tests reach them without root.
#pragma once

#include "runtime/shift.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lodge::runtime::detail {

// Throws lodge::Error (400) unless ids 0..size-1 and the host range
// base..base+size-1 are both valid and do not overlap. Disjoint ranges are
// what let an interrupted run be resumed: every id then tells by itself
// whether it was already moved.
void check_range(const ShiftRange& range, const std::string& root);

bool same_range(const ShiftRange& a, const ShiftRange& b);

// Moves ids between the container range (0..size-1) and the host range.
struct IdMapper {
    ShiftRange range;
    bool to_host;  // shift_tree (true) or unshift_tree (false)
    bool resuming; // ids already at their destination are kept, not refused

    // The new id, or nullopt when id is in neither accepted range.
    std::optional<uint32_t> uid(uint32_t id) const { return map(id, range.uid_base); }
    std::optional<uint32_t> gid(uint32_t id) const { return map(id, range.gid_base); }
    // The same move undone, for rolling back a failed pass.
    IdMapper reversed() const { return {range, !to_host, true}; }

    std::optional<uint32_t> map(uint32_t id, uint32_t base) const;
};

// "uid 70000 of /path is outside 0..65535; ..." for an id the mapper
// refused; base is the host base of that kind of id.
std::string refused_id(std::string_view kind, uint32_t id, uint32_t base, const IdMapper& m,
                       const std::string& what);

// Rewrites e_id of the ACL_USER and ACL_GROUP entries of a raw
// system.posix_acl_access / system.posix_acl_default value (version 2,
// little endian). Throws lodge::Error naming what on a malformed value or
// an id out of range.
std::string shift_acl_xattr(std::string_view value, const IdMapper& m, const std::string& what);

// Rewrites the root id of a raw security.capability value as host root reads
// it: a v2 value (20 bytes) means root id 0, a v3 value (24 bytes) carries
// one. The result is v3 unless the new root id is 0, then v2 — exactly what
// the kernel hands host root back, so unshifting restores the original bytes.
std::string shift_cap_xattr(std::string_view value, const IdMapper& m, const std::string& what);

// The record on a root: "uid_base:gid_base:size" once shifted,
// "pending:uid_base:gid_base:size" while a shift or unshift is under way
// (or was interrupted).
struct ShiftRecord {
    ShiftRange range;
    bool pending;
};
std::string format_record(const ShiftRecord& rec);
std::optional<ShiftRecord> parse_record(std::string_view text);

// Where the record lives when root's filesystem has no trusted xattrs:
// "<parent>/.lodge-shifted.<basename>". Throws lodge::Error for "/" or "".
std::string record_file_path(const std::string& root);

} // namespace lodge::runtime::detail
