// The simplestreams image catalog (streams/v1/index.json and the product
// stream it names) as LXD reads it: which images a server offers, how an
// alias or a fingerprint resolves, and the files to download. lodged pulls
// with it; the lodge CLI lists and resolves with the same code.
#pragma once

#include "api/time.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lodge::simplestreams {

struct File {
    std::string path; // relative to the server URL
    std::string sha256;
    std::int64_t size = 0;
};

// One LXD image a product version offers: its metadata tarball with one
// rootfs (a version with both root.tar.xz and squashfs offers two images).
struct Image {
    std::string fingerprint;  // the combined SHA-256 of metadata + rootfs
    std::string architecture; // LXD's name ("x86_64")
    std::string product_arch; // as published ("amd64"): the suffix of arch aliases
    std::vector<std::string> aliases; // as published ("debian/12", "debian/bookworm")
    std::map<std::string, std::string> properties; // os, release, serial, description, ... as LXD lists them
    std::string rootfs_type; // "root.tar.xz" or "squashfs"
    File metadata;
    File rootfs;
    api::Time created_at{}; // the day the version name starts with (YYYYMMDD)
    std::int64_t size() const { return metadata.size + rootfs.size; }
    std::string filename() const; // the metadata file's name, as LXD records it
};

// The rootfs file types lodge can store, preferred first: the single place
// that decides (squashfs joins once the image store keeps squashfs rootfs).
const std::vector<std::string>& supported_rootfs_types();

// The host's architecture in LXD's naming ("x86_64").
std::string host_architecture();

// An alias as LXD's simplestreams client lists it: once bare for the host
// architecture, once with the published architecture appended.
struct Alias {
    std::string name;
    std::string target;
};

class Catalog {
public:
    // Sorted as LXD sorts: by os, release, variant, newest serial first,
    // architecture, then the preferred rootfs type first.
    explicit Catalog(std::vector<Image> images);
    const std::vector<Image>& images() const { return images_; }

    // "debian/12" (host architecture), "debian/12/arm64", a fingerprint or
    // a unique prefix of one: the newest image of a supported rootfs type.
    // Error(404) naming the alias when nothing matches.
    const Image& resolve(const std::string& alias_or_fingerprint) const;
    // The image with this full fingerprint or unique prefix, any rootfs type.
    const Image* by_fingerprint(const std::string& prefix) const;
    // The aliases of an image as `image list` shows them.
    std::vector<std::string> aliases_of(const Image& image) const;

private:
    std::vector<Image> images_;
    std::vector<Alias> aliases_; // first wins, as in LXD
};

// Builds the catalog from index.json, calling fetch(path) for the products
// file(s) it names; Error(502) for documents that are not simplestreams.
Catalog parse_catalog(const std::string& index_json, const std::function<std::string(const std::string&)>& fetch);

// HTTPS transfers with libcurl (redirects to HTTPS only): TLS verified against the system's CAs, or
// the file $SSL_CERT_FILE names when set (tests give their CA this way).
struct Progress {
    std::int64_t done = 0;
    std::int64_t total = 0;
    std::int64_t bytes_per_second = 0;
};
using ProgressFn = std::function<bool(const Progress&)>; // false: abort the transfer

// The URL's body, at most max_bytes; Error(502) saying why otherwise.
std::string http_get(const std::string& url, std::int64_t max_bytes, const ProgressFn& progress = {});

// index.json and the products stream of server ("https://host/path").
Catalog fetch_catalog(const std::string& server);

// Downloads a published file: exactly its size, its SHA-256 checked;
// Error(502) for a short, long or altered file.
std::string download(const std::string& server, const File& file, const ProgressFn& progress = {});

// LXD's architecture name for a name Debian, Ubuntu or an image's
// metadata.yaml uses ("amd64" -> "x86_64"); "" when unknown.
std::string lxd_architecture(const std::string& name);

// LXD's progress text: "45% (12.30MB/s)" (units.GetByteSizeString).
std::string progress_text(const Progress& p);

} // namespace lodge::simplestreams
