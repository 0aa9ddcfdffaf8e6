// Image archives built in tests (libarchive's writer): tarballs with any
// entry a hostile image could hold, and the digests lodge names images by.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace lodge::test {

struct Entry {
    std::string name;
    unsigned type = AE_IFREG;
    std::string content; // file data, or the link target of symlinks and hard links
    unsigned mode = 0644;
    int uid = 0, gid = 0;
    bool hardlink = false;
    std::map<std::string, std::string> xattrs;
    dev_t rdev = 0;
    std::size_t zeros = 0; // a regular file of this many zero bytes instead of content (size bombs)
};

inline const std::string default_metadata =
    "architecture: x86_64\ncreation_date: 1764000000\nproperties:\n  description: Test image\n  os: busybox\n";

// A tar built with libarchive, compressed with `filter` ("gzip", "xz", "zstd", "").
inline std::string make_tar(const std::vector<Entry>& entries, const std::string& filter = "gzip") {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter == "gzip") archive_write_add_filter_gzip(a);
    if (filter == "xz") archive_write_add_filter_xz(a);
    if (filter == "zstd") archive_write_add_filter_zstd(a);
    if (filter == "bzip2") archive_write_add_filter_bzip2(a);
    std::vector<char> buf(16 << 20);
    size_t used = 0;
    EXPECT_EQ(archive_write_open_memory(a, buf.data(), buf.size(), &used), ARCHIVE_OK);
    for (const auto& e : entries) {
        archive_entry* en = archive_entry_new();
        archive_entry_set_pathname(en, e.name.c_str());
        archive_entry_set_perm(en, e.mode);
        archive_entry_set_uid(en, e.uid);
        archive_entry_set_gid(en, e.gid);
        archive_entry_set_mtime(en, 1764000000, 0);
        for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(en, k.c_str(), v.data(), v.size());
        if (e.hardlink) {
            archive_entry_set_hardlink(en, e.content.c_str());
        } else {
            archive_entry_set_filetype(en, e.type);
            if (e.type == AE_IFLNK) archive_entry_set_symlink(en, e.content.c_str());
            if (e.type == AE_IFREG)
                archive_entry_set_size(en, static_cast<la_int64_t>(e.zeros ? e.zeros : e.content.size()));
            if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(en, e.rdev);
        }
        // WARN: a non-ASCII name in the C locale is written as bytes, which is what tar does too.
        EXPECT_GE(archive_write_header(a, en), ARCHIVE_WARN) << e.name;
        if (!e.hardlink && e.type == AE_IFREG && !e.content.empty())
            archive_write_data(a, e.content.data(), e.content.size());
        for (std::size_t left = e.zeros; left > 0;) {
            static const std::string chunk(1 << 20, '\0');
            auto n = std::min(left, chunk.size());
            archive_write_data(a, chunk.data(), n);
            left -= n;
        }
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return std::string(buf.data(), used);
}

inline std::vector<Entry> image_entries(const std::string& metadata = default_metadata) {
    return {
        {"metadata.yaml", AE_IFREG, metadata},
        {"templates", AE_IFDIR, "", 0755},
        {"templates/hostname.tpl", AE_IFREG, "{{ container.name }}\n"},
        {"rootfs", AE_IFDIR, "", 0755},
        {"rootfs/bin", AE_IFDIR, "", 0755},
        {"rootfs/bin/busybox", AE_IFREG, "#!binary\n", 04755},
        {"rootfs/bin/sh", AE_IFLNK, "/bin/busybox", 0777},
        {"rootfs/bin/ash", AE_IFREG, "rootfs/bin/busybox", 0, 0, 0, true},
        {"rootfs/home", AE_IFDIR, "", 0755},
        {"rootfs/home/user", AE_IFDIR, "", 0700, 1000, 1000},
        {"rootfs/home/user/file", AE_IFREG, "mine", 0600, 1000, 1000, false, {{"user.note", "kept"}}},
        {"rootfs/dev", AE_IFDIR, "", 0755},
        {"rootfs/dev/null", AE_IFCHR, "", 0666, 0, 0, false, {}, makedev(1, 3)},
        {"rootfs/tmp", AE_IFDIR, "", 01777},
        {"rootfs/tmp/caf\xc3\xa9 \xe2\x9c\x93", AE_IFREG, "utf-8 name"},
    };
}

inline std::string sha256(const std::string& data) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
    char hex[3];
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(hex, sizeof hex, "%02x", d[i]);
        out += hex;
    }
    return out;
}

} // namespace lodge::test
