// Backup tarballs in LXD's layout: backup/index.yaml, backup/container/
// (the instance's volume) and backup/snapshots/<snap>/ (each snapshot's),
// written from volumes and read back from untrusted uploads with the image
// store's entry rules (daemon/images/entries.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lodge::daemon {

// A volume directory and where its files go in the tarball
// ("backup/container", "backup/snapshots/s1").
struct BackupSource {
    std::string dir;
    std::string prefix;
};

// Writes index_yaml as backup/index.yaml, then each source's rootfs/,
// metadata.yaml and templates/ (what exists of them) under its prefix, to
// out_fd with the given compression (one of compression_names()). Each
// volume is walked in a thread chrooted into it, never following symlinks.
void pack_backup(const std::string& index_yaml, const std::vector<BackupSource>& sources,
                 const std::string& compression, int out_fd);

// What a backup tarball holds, from its first pass.
struct BackupContents {
    std::string index_yaml;              // backup/index.yaml (at most 1 MiB)
    bool container = false;              // backup/container/ present
    std::vector<std::string> snapshots;  // backup/snapshots/<snap>/ present
    bool optimized = false;              // backup/container.bin present
};

// First pass over an uploaded backup (tarball_fd, read from its start):
// every entry is checked (no "..", no absolute names, nothing through a
// symlink, backup/container and the snapshot directories real
// directories, rootfs/ a directory, metadata.yaml and templates/ plain),
// and the declared sizes must fit in limit bytes. Error(400) naming the
// entry otherwise.
BackupContents inspect_backup(int tarball_fd, std::int64_t limit);

// Second pass: unpacks into target_dir (empty) as container/ and
// snapshots/<snap>/, each holding rootfs/, metadata.yaml, templates/; in a
// thread chrooted into target_dir, with the same checks again. Device
// nodes other than the standard ones are left out.
void unpack_backup(int tarball_fd, const std::string& target_dir, std::int64_t limit);

} // namespace lodge::daemon
