// The pure parts of ownership shifting (runtime/shift.cpp): which way an id
// moves, the byte layouts of POSIX ACL and file capability xattrs, and what
// is recorded on a shifted root. Apart, and inline, so unit tests reach them
// without root.
#pragma once

#include "common/error.hpp"
#include "runtime/shift.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lodge::runtime::detail {

inline uint32_t load_le(std::string_view s, size_t at, size_t bytes) {
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    return v;
}

inline void store_le32(std::string& s, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// "1000000..1065535"
inline std::string span_text(uint32_t first, uint32_t count) {
    return std::to_string(first) + ".." + std::to_string(static_cast<uint64_t>(first) + count - 1);
}

inline std::string range_text(const ShiftRange& r) {
    return "uid base " + std::to_string(r.uid_base) + ", gid base " + std::to_string(r.gid_base) + ", size " +
           std::to_string(r.size);
}

inline bool same_range(const ShiftRange& a, const ShiftRange& b) {
    return a.uid_base == b.uid_base && a.gid_base == b.gid_base && a.size == b.size;
}

// Throws lodge::Error (400) unless ids 0..size-1 and the host range
// base..base+size-1 are both valid and do not overlap. Disjoint ranges are
// what let an interrupted run be resumed: every id then tells by itself
// whether it was already moved.
inline void check_range(const ShiftRange& r, const std::string& root) {
    auto refuse = [&](const std::string& why) {
        throw Error(400, "cannot shift " + root + " with " + range_text(r) + ": " + why);
    };
    if (r.size == 0) refuse("the range is empty");
    for (uint32_t base : {r.uid_base, r.gid_base}) {
        if (base < r.size)
            refuse("host ids " + span_text(base, r.size) + " overlap the container's ids " + span_text(0, r.size) +
                   "; choose a host range at or above " + std::to_string(r.size));
        // 4294967295 is (uid_t)-1, "no id", never a real owner.
        if (static_cast<uint64_t>(base) + r.size > 0xFFFFFFFFull) refuse("the host range runs past id 4294967294");
    }
}

// Moves ids between the container range (0..size-1) and the host range.
struct IdMapper {
    ShiftRange range;
    bool to_host;  // shift_tree (true) or unshift_tree (false)
    bool resuming; // ids already at their destination are kept, not refused

    // The new id, or nullopt when id is in neither accepted range.
    std::optional<uint32_t> map(uint32_t id, uint32_t base) const {
        bool in_container = id < range.size;
        bool in_host = id >= base && id - base < range.size;
        if (to_host) {
            if (in_container) return id + base;
            if (resuming && in_host) return id;
        } else {
            if (in_host) return id - base;
            if (resuming && in_container) return id;
        }
        return std::nullopt;
    }
    std::optional<uint32_t> uid(uint32_t id) const { return map(id, range.uid_base); }
    std::optional<uint32_t> gid(uint32_t id) const { return map(id, range.gid_base); }
    // The same move undone, for rolling back a failed pass.
    IdMapper reversed() const { return {range, !to_host, true}; }
};

// "uid 70000 of /path is outside 0..65535; ..." for an id the mapper
// refused; base is the host base of that kind of id.
inline std::string refused_id(std::string_view kind, uint32_t id, uint32_t base, const IdMapper& m,
                              const std::string& what) {
    std::string container = span_text(0, m.range.size);
    std::string host = span_text(base, m.range.size);
    std::string expected = m.resuming ? container + " or " + host : m.to_host ? container : host;
    return std::string(kind) + " " + std::to_string(id) + " of " + what + " is outside " + expected +
           "; change it to an id in that range and run again";
}

// Rewrites e_id of the ACL_USER and ACL_GROUP entries of a raw
// system.posix_acl_access / system.posix_acl_default value: a version 2
// header, then 8-byte entries (e_tag u16, e_perm u16, e_id u32), little
// endian. Throws lodge::Error naming what on a malformed value or an id out
// of range.
inline std::string shift_acl_xattr(std::string_view value, const IdMapper& m, const std::string& what) {
    constexpr uint32_t tag_user = 0x02, tag_group = 0x08;
    constexpr size_t header = 4, entry = 8;
    if (value.size() < header || (value.size() - header) % entry != 0 || load_le(value, 0, 4) != 2)
        throw Error("the POSIX ACL of " + what + " is not in the version 2 layout; its ids cannot be shifted");
    std::string out(value);
    for (size_t at = header; at < value.size(); at += entry) {
        uint32_t tag = load_le(value, at, 2);
        if (tag != tag_user && tag != tag_group) continue; // the others carry no id
        bool user = tag == tag_user;
        uint32_t base = user ? m.range.uid_base : m.range.gid_base;
        uint32_t id = load_le(value, at + 4, 4);
        auto moved = m.map(id, base);
        if (!moved) throw Error(refused_id(user ? "ACL uid" : "ACL gid", id, base, m, what));
        store_le32(out, at + 4, *moved);
    }
    return out;
}

constexpr size_t cap_v2_size = 20; // magic_etc, then {permitted, inheritable} x 2
constexpr size_t cap_v3_size = 24; // v2, then rootid

// Rewrites the root id of a raw security.capability value as host root reads
// it: a v2 value means root id 0, a v3 value carries one. The result is v3
// unless the new root id is 0, then v2 — exactly what the kernel hands host
// root back, so unshifting restores the original bytes.
inline std::string shift_cap_xattr(std::string_view value, const IdMapper& m, const std::string& what) {
    constexpr uint32_t revision_mask = 0xFF000000, revision_2 = 0x02000000, revision_3 = 0x03000000;
    uint32_t magic = value.size() >= 4 ? load_le(value, 0, 4) : 0;
    uint32_t revision = magic & revision_mask;
    uint32_t rootid = 0;
    if (value.size() == cap_v3_size && revision == revision_3)
        rootid = load_le(value, cap_v2_size, 4);
    else if (value.size() != cap_v2_size || revision != revision_2)
        throw Error("the file capability of " + what + " is neither v2 nor v3; its root id cannot be shifted");
    auto moved = m.uid(rootid);
    if (!moved) throw Error(refused_id("capability root uid", rootid, m.range.uid_base, m, what));

    std::string out(value.substr(0, cap_v2_size));
    uint32_t flags = magic & ~revision_mask;
    if (*moved == 0) {
        store_le32(out, 0, revision_2 | flags);
        return out;
    }
    out.resize(cap_v3_size);
    store_le32(out, 0, revision_3 | flags);
    store_le32(out, cap_v2_size, *moved);
    return out;
}

// What chown takes from a file: the setuid/setgid bits and the capability.
// Saved on the file itself for the few system calls between the chown and
// putting them back, so that a crash in between loses neither. Encoded as
// the mode (le32) followed by the raw capability, if any.
struct Kept {
    uint32_t mode;
    std::optional<std::string> cap;
};

inline std::string encode_kept(const Kept& k) {
    std::string s(4, '\0');
    store_le32(s, 0, k.mode);
    return k.cap ? s + *k.cap : s;
}

inline std::optional<Kept> decode_kept(std::string_view s) {
    if (s.size() != 4 && s.size() != 4 + cap_v2_size && s.size() != 4 + cap_v3_size) return std::nullopt;
    Kept k{load_le(s, 0, 4), std::nullopt};
    if (k.mode & ~07777u) return std::nullopt;
    if (s.size() > 4) k.cap = std::string(s.substr(4));
    return k;
}

// The record on a root: "uid_base:gid_base:size" once shifted,
// "pending:uid_base:gid_base:size" while a shift or unshift is under way
// (or was interrupted).
struct ShiftRecord {
    ShiftRange range;
    bool pending;
};

inline std::string format_record(const ShiftRecord& rec) {
    return std::string(rec.pending ? "pending:" : "") + std::to_string(rec.range.uid_base) + ":" +
           std::to_string(rec.range.gid_base) + ":" + std::to_string(rec.range.size);
}

inline std::optional<ShiftRecord> parse_record(std::string_view text) {
    ShiftRecord rec{{0, 0, 0}, false};
    constexpr std::string_view pending = "pending:";
    if (text.starts_with(pending)) {
        rec.pending = true;
        text.remove_prefix(pending.size());
    }
    if (text.ends_with('\n')) text.remove_suffix(1); // a record file edited by hand
    uint32_t* fields[] = {&rec.range.uid_base, &rec.range.gid_base, &rec.range.size};
    for (size_t i = 0; i < 3; ++i) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *fields[i]);
        if (ec != std::errc() || end == text.data()) return std::nullopt;
        text.remove_prefix(static_cast<size_t>(end - text.data()));
        if (i == 2) break;
        if (!text.starts_with(':')) return std::nullopt;
        text.remove_prefix(1);
    }
    if (!text.empty()) return std::nullopt;
    return rec;
}

// Where the record lives when root's filesystem has no trusted xattrs:
// "<parent>/.lodge-shifted.<basename>". Throws lodge::Error for "/" or "".
inline std::string record_file_path(const std::string& root) {
    std::string p = root;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : p.substr(0, slash);
    std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
        throw Error(400, "cannot keep a shift record next to '" + root + "': name the root directory by its own name");
    return parent + "/.lodge-shifted." + base;
}

} // namespace lodge::runtime::detail
