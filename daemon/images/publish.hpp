// Publishing an instance as an image: its directory (rootfs/, metadata.yaml,
// templates/) packed into a unified image tarball, as LXD's instance
// export for `lxc publish` packs it.
#pragma once

#include "api/time.hpp"

#include <map>
#include <optional>
#include <string>

struct archive; // libarchive's

namespace lodge::daemon {

struct PackOptions {
    // One of compression_names(); "" means gzip, LXD's default.
    std::string compression;
    // Replace metadata.yaml's properties when set (as LXD does).
    std::optional<std::map<std::string, std::string>> properties;
    api::Time expires_at{}; // Time{}: keep metadata.yaml's
    // For a metadata.yaml written from scratch (the instance has none).
    std::string architecture;
};

// The compressions publish accepts: a fixed list, each done in-process by
// libarchive; no name is ever handed to a tool.
const char* const* compression_names(); // nullptr-terminated
// Error(400) naming the algorithm and the list when it is not one of them.
void check_compression(const std::string& name);

// Adds the libarchive write filter for a name check_compression() accepted
// (publish and instance backups both write with it).
int add_compression_filter(::archive* a, const std::string& name);

// Packs source_dir (an instance's directory, or a snapshot's) which must be
// stopped, writing the image to out_fd; returns its SHA-256, computed
// while writing (ImageStore::add_written takes both). The walk runs in a thread chrooted into source_dir, never
// following symlinks, so what the container left in its rootfs cannot lead
// it to host files. rootfs/, templates/ and metadata.yaml must not be
// symlinks; metadata.yaml is size limited. Device nodes and ownership are
// kept as stored (container ids); sockets are left out (tar cannot hold
// them).
std::string pack_instance(const std::string& source_dir, const PackOptions& options, int out_fd);

} // namespace lodge::daemon
