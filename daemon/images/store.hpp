// The image store: images kept under <state>/images by SHA-256 fingerprint,
// and what instance creation needs from them. The API side (upload, list,
// aliases) is in daemon/api/images.cpp.
#pragma once

#include "api/time.hpp"
#include "daemon/db/database.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lodge::daemon {

// What an instance takes from the image it is created from.
struct ImageSource {
    std::string fingerprint;
    std::string architecture;
    std::map<std::string, std::string> properties; // become image.* keys of the instance
};

// The image an instance source names: an alias, a full fingerprint or a
// unique fingerprint prefix. Error(404) "Image not found" otherwise.
ImageSource resolve_image(db::Database& db, const std::string& alias_or_fingerprint);

// What a unified image tarball says about itself (its metadata.yaml), and
// what the store learnt storing it.
struct StoredImage {
    std::string fingerprint; // SHA-256 of the file, lower-case hex
    std::int64_t size = 0;   // bytes of the file as uploaded
    std::string architecture; // normalised ("amd64" -> "x86_64")
    api::Time created_at{};
    api::Time expires_at{}; // Time{}: never
    std::map<std::string, std::string> properties;
};

class ImageStore {
public:
    explicit ImageStore(std::string dir); // creates dir (0700) when missing
    const std::string& dir() const { return dir_; }

    // Fills instance_dir (which exists and is empty) as LXD lays out a
    // container: rootfs/ with the image's files, ownership as in the image
    // (container ids, not shifted), plus metadata.yaml and templates/ when
    // the image has them. Error(404) for an unknown fingerprint. On failure
    // what it created is removed again.
    void unpack(const std::string& fingerprint, const std::string& instance_dir) const;

    // Stores a unified image (a tar, compressed or not, holding
    // metadata.yaml and rootfs/) given as bytes: checks every entry name
    // and the metadata, and keeps the file as <dir>/<fingerprint>.
    // Error(400) for a bad image or a fingerprint other than
    // expected_fingerprint (when not empty), Error(409) when the store has
    // it already. Database records are the caller's.
    StoredImage add(const std::string& data, const std::string& expected_fingerprint = "");

    // A unified image written straight into the store (publish): write
    // fills a temporary file there and returns the SHA-256 it computed; the
    // file is then checked as add() checks an upload (digest, entries,
    // metadata) and kept under its fingerprint, or removed.
    StoredImage add_written(const std::function<std::string(int fd)>& write);

    // A split image: a metadata tarball (metadata.yaml, templates/) and a
    // rootfs tarball or squashfs (the root filesystem itself); the
    // fingerprint is the SHA-256 of the two one after the other. Kept as
    // <fp> and <fp>.rootfs, with the rootfs' tar form as <fp>.rootfs.tar.
    StoredImage add_split(const std::string& metadata, const std::string& rootfs,
                          const std::string& expected_fingerprint = "");
    bool is_split(const std::string& fingerprint) const;
    std::string rootfs_file(const std::string& fingerprint) const; // of a split image

    // The most an image may unpack to (the sum of its files' sizes): by
    // default the free space of the store's filesystem; set for tests or
    // from configuration. Larger images are refused naming the entry that
    // crosses it.
    void set_max_unpacked_bytes(std::int64_t bytes) { max_unpacked_bytes_ = bytes; }
    std::int64_t max_unpacked_bytes() const;

    bool contains(const std::string& fingerprint) const;
    // The image file as uploaded; Error(404) when absent.
    std::string file(const std::string& fingerprint) const;
    // Removes the image's files; nothing when they are absent.
    void remove(const std::string& fingerprint);
    // At start: removes half-written uploads and the files of images the
    // database does not know (a kill between storing and recording), and
    // returns what it removed, for the log.
    std::vector<std::string> remove_leftovers(const std::set<std::string>& known_fingerprints);

private:
    StoredImage store(std::vector<const std::string*> files, const std::string& expected_fingerprint);
    std::string image_path(const std::string& fingerprint) const; // Error(404) for a malformed fingerprint
    std::string dir_;
    std::int64_t max_unpacked_bytes_ = 0;
};

} // namespace lodge::daemon
