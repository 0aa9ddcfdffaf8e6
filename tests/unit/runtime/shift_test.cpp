// The pure parts of ownership shifting: which ids move where, the bytes of
// POSIX ACL and file capability xattrs, and the record on a shifted root.
#include "runtime/shift_internal.hpp"

#include "common/error.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

using namespace lodge::runtime;
using namespace lodge::runtime::detail;

namespace {

const ShiftRange range{1000000, 2000000, 65536};

IdMapper to_host(bool resuming = false) { return {range, true, resuming}; }
IdMapper to_container(bool resuming = false) { return {range, false, resuming}; }

std::string le32(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
}

std::string le16(uint16_t v) { return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; }

struct AclEntry {
    uint16_t tag;
    uint16_t perm;
    uint32_t id;
};

// A raw system.posix_acl_* value as the kernel hands it out.
std::string acl(std::initializer_list<AclEntry> entries) {
    std::string s = le32(2);
    for (const auto& e : entries) s += le16(e.tag) + le16(e.perm) + le32(e.id);
    return s;
}

constexpr uint32_t undefined_id = 0xFFFFFFFF;

// cap_net_raw=ep as setcap writes it (v2) and as a namespaced root would (v3).
std::string cap_v2() { return le32(0x02000001) + le32(1u << 13) + le32(0) + le32(0) + le32(0); }
std::string cap_v3(uint32_t rootid) {
    return le32(0x03000001) + le32(1u << 13) + le32(0) + le32(0) + le32(0) + le32(rootid);
}

} // namespace

TEST(ShiftRange, AcceptsADisjointHostRange) {
    EXPECT_NO_THROW(check_range(range, "/r"));
    EXPECT_NO_THROW(check_range({65536, 65536, 65536}, "/r"));
    EXPECT_NO_THROW(check_range({4294967295u - 65536, 100000, 65536}, "/r"));
}

TEST(ShiftRange, RefusesEmptyOverlappingAndOverflowingRanges) {
    EXPECT_THROW(check_range({1000000, 1000000, 0}, "/r"), lodge::Error);
    EXPECT_THROW(check_range({0, 1000000, 65536}, "/r"), lodge::Error);
    EXPECT_THROW(check_range({1000000, 65535, 65536}, "/r"), lodge::Error);
    EXPECT_THROW(check_range({4294967295u - 65535, 1000000, 65536}, "/r"), lodge::Error);
    try {
        check_range({1000, 1000000, 65536}, "/srv/rootfs");
        FAIL();
    } catch (const lodge::Error& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("/srv/rootfs"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("65536"), std::string::npos) << e.what();
    }
}

TEST(IdMapper, ShiftMovesContainerIdsAndRefusesOthers) {
    auto m = to_host();
    EXPECT_EQ(m.uid(0), 1000000u);
    EXPECT_EQ(m.uid(65534), 1065534u);
    EXPECT_EQ(m.gid(5), 2000005u);
    EXPECT_EQ(m.uid(65536), std::nullopt);
    EXPECT_EQ(m.uid(1000000), std::nullopt); // fresh: already-host ids are foreign
}

TEST(IdMapper, ResumingKeepsIdsAlreadyMoved) {
    auto m = to_host(true);
    EXPECT_EQ(m.uid(7), 1000007u);
    EXPECT_EQ(m.uid(1000007), 1000007u);
    EXPECT_EQ(m.gid(2065535), 2065535u);
    EXPECT_EQ(m.gid(1000007), std::nullopt); // a uid-range value is no gid
    EXPECT_EQ(m.uid(1065536), std::nullopt);
}

TEST(IdMapper, UnshiftIsTheInverse) {
    auto m = to_container();
    EXPECT_EQ(m.uid(1000000), 0u);
    EXPECT_EQ(m.gid(2065535), 65535u);
    EXPECT_EQ(m.uid(0), std::nullopt);
    EXPECT_EQ(to_container(true).uid(0), 0u);
    auto back = to_host().reversed();
    EXPECT_FALSE(back.to_host);
    EXPECT_TRUE(back.resuming);
}

TEST(ShiftAcl, RewritesOnlyNamedUserAndGroupEntries) {
    std::string before = acl({{0x01, 7, undefined_id},
                              {0x02, 7, 1000},
                              {0x04, 5, undefined_id},
                              {0x08, 5, 1001},
                              {0x10, 7, undefined_id},
                              {0x20, 5, undefined_id}});
    std::string after = acl({{0x01, 7, undefined_id},
                             {0x02, 7, 1001000},
                             {0x04, 5, undefined_id},
                             {0x08, 5, 2001001},
                             {0x10, 7, undefined_id},
                             {0x20, 5, undefined_id}});
    EXPECT_EQ(shift_acl_xattr(before, to_host(), "/r/f"), after);
    EXPECT_EQ(shift_acl_xattr(after, to_container(), "/r/f"), before);
    EXPECT_EQ(shift_acl_xattr(after, to_host(true), "/r/f"), after);
}

TEST(ShiftAcl, AHeaderOnlyAclIsKept) { EXPECT_EQ(shift_acl_xattr(le32(2), to_host(), "/r/f"), le32(2)); }

TEST(ShiftAcl, RefusesMalformedValues) {
    EXPECT_THROW(shift_acl_xattr("", to_host(), "/r/f"), lodge::Error);
    EXPECT_THROW(shift_acl_xattr(le32(1) + le16(2) + le16(7) + le32(5), to_host(), "/r/f"), lodge::Error);
    EXPECT_THROW(shift_acl_xattr(le32(2) + le16(2) + le16(7), to_host(), "/r/f"), lodge::Error);
}

TEST(ShiftAcl, AnIdOutOfRangeNamesTheFile) {
    try {
        shift_acl_xattr(acl({{0x02, 7, 70000}}), to_host(), "/r/etc/shadow");
        FAIL();
    } catch (const lodge::Error& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("/r/etc/shadow"), std::string::npos) << what;
        EXPECT_NE(what.find("70000"), std::string::npos) << what;
        EXPECT_NE(what.find("0..65535"), std::string::npos) << what;
    }
}

TEST(ShiftCap, V2BecomesV3WithTheHostRootId) {
    std::string shifted = shift_cap_xattr(cap_v2(), to_host(), "/r/ping");
    EXPECT_EQ(shifted, cap_v3(1000000));
    EXPECT_EQ(shifted.size(), 24u);
}

TEST(ShiftCap, V3RootIdMovesByTheUidBase) {
    EXPECT_EQ(shift_cap_xattr(cap_v3(1000), to_host(), "/r/ping"), cap_v3(1001000));
    EXPECT_EQ(shift_cap_xattr(cap_v3(1001000), to_container(), "/r/ping"), cap_v3(1000));
}

TEST(ShiftCap, UnshiftToRootIdZeroGivesBackTheV2Bytes) {
    EXPECT_EQ(shift_cap_xattr(cap_v3(1000000), to_container(), "/r/ping"), cap_v2());
}

TEST(ShiftCap, ResumingLeavesAShiftedCapabilityAlone) {
    EXPECT_EQ(shift_cap_xattr(cap_v3(1000000), to_host(true), "/r/ping"), cap_v3(1000000));
    EXPECT_EQ(shift_cap_xattr(cap_v2(), to_container(true), "/r/ping"), cap_v2());
}

TEST(ShiftCap, KeepsTheEffectiveFlagAndCapabilitySets) {
    std::string v2 = le32(0x02000000) + le32(0xAABBCCDD) + le32(0x11223344) + le32(0x55) + le32(0x66);
    std::string v3 = shift_cap_xattr(v2, to_host(), "/r/f");
    EXPECT_EQ(v3, le32(0x03000000) + v2.substr(4) + le32(1000000));
}

TEST(ShiftCap, RefusesOtherRevisionsAndSizes) {
    EXPECT_THROW(shift_cap_xattr("", to_host(), "/r/f"), lodge::Error);
    EXPECT_THROW(shift_cap_xattr(le32(0x01000000) + le32(1) + le32(0), to_host(), "/r/f"), lodge::Error);
    EXPECT_THROW(shift_cap_xattr(cap_v2() + le32(0), to_host(), "/r/f"), lodge::Error);     // v2 magic, v3 size
    EXPECT_THROW(shift_cap_xattr(cap_v3(0).substr(0, 20), to_host(), "/r/f"), lodge::Error); // v3 magic, v2 size
}

TEST(ShiftCap, ARootIdOutOfRangeNamesTheFile) {
    try {
        shift_cap_xattr(cap_v3(500000), to_host(), "/r/usr/bin/ping");
        FAIL();
    } catch (const lodge::Error& e) {
        EXPECT_NE(std::string(e.what()).find("/r/usr/bin/ping"), std::string::npos) << e.what();
    }
}

TEST(ShiftKept, RoundTripsModeAndCapability) {
    for (auto cap : {std::optional<std::string>(), std::optional(cap_v2()), std::optional(cap_v3(1000000))}) {
        std::string raw = encode_kept({04755, cap});
        EXPECT_EQ(raw.substr(0, 4), le32(04755));
        auto k = decode_kept(raw);
        ASSERT_TRUE(k);
        EXPECT_EQ(k->mode, 04755u);
        EXPECT_EQ(k->cap, cap);
    }
}

TEST(ShiftKept, RefusesMalformedValues) {
    EXPECT_FALSE(decode_kept(""));
    EXPECT_FALSE(decode_kept("abc"));
    EXPECT_FALSE(decode_kept(le32(0100755)));         // file type bits are not ours
    EXPECT_FALSE(decode_kept(le32(0755) + le32(1))); // no capability is 4 bytes long
}

TEST(ShiftRecord, FormatsAndParsesBothStates) {
    EXPECT_EQ(format_record({range, false}), "1000000:2000000:65536");
    EXPECT_EQ(format_record({range, true}), "pending:1000000:2000000:65536");
    for (bool pending : {false, true}) {
        auto rec = parse_record(format_record({range, pending}));
        ASSERT_TRUE(rec);
        EXPECT_TRUE(same_range(rec->range, range));
        EXPECT_EQ(rec->pending, pending);
    }
    auto edited = parse_record("1:2:3\n");
    ASSERT_TRUE(edited);
    EXPECT_EQ(edited->range.size, 3u);
}

TEST(ShiftRecord, RefusesMalformedText) {
    for (const char* bad : {"", "1:2", "1:2:3:4", "a:b:c", "-1:2:3", "+1:2:3", " 1:2:3", "1:2:3 ", "pending:",
                            "pending:1:2", "done:1:2:3", "4294967296:1:1", "1::3", "1:2:3\n\n"})
        EXPECT_FALSE(parse_record(bad)) << '"' << bad << '"';
}

TEST(ShiftRecord, FallbackFileSitsBesideTheRoot) {
    EXPECT_EQ(record_file_path("/var/lib/lodge/containers/web1/rootfs"),
              "/var/lib/lodge/containers/web1/.lodge-shifted.rootfs");
    EXPECT_EQ(record_file_path("/srv/web1/"), "/srv/.lodge-shifted.web1");
    EXPECT_EQ(record_file_path("/web1"), "/.lodge-shifted.web1");
    EXPECT_EQ(record_file_path("rootfs"), "./.lodge-shifted.rootfs");
    EXPECT_THROW(record_file_path("/"), lodge::Error);
    EXPECT_THROW(record_file_path(""), lodge::Error);
    EXPECT_THROW(record_file_path("/srv/.."), lodge::Error);
}
