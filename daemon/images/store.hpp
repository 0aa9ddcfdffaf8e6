// The image store: images kept under <state>/images by SHA-256 fingerprint,
// and what instance creation needs from them. The API side (upload, list,
// aliases) is in daemon/api/images.cpp.
#pragma once

#include "daemon/db/database.hpp"

#include <map>
#include <string>

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

class ImageStore {
public:
    explicit ImageStore(std::string dir); // creates dir (0700) when missing
    const std::string& dir() const { return dir_; }

    // Fills instance_dir (which exists and is empty) as LXD lays out a
    // container: rootfs/ with the image's files, ownership as in the image
    // (container ids, not shifted), plus metadata.yaml and templates/ when
    // the image has them. Error(404) for an unknown fingerprint.
    void unpack(const std::string& fingerprint, const std::string& instance_dir) const;

private:
    std::string dir_;
};

} // namespace lodge::daemon
