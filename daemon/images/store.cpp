// Placeholder until the image store lands: every lookup fails cleanly.
#include "daemon/images/store.hpp"

#include "common/error.hpp"
#include "common/file.hpp"

namespace lodge::daemon {

ImageSource resolve_image(db::Database&, const std::string& name) {
    throw Error(404, "Image not found: " + name);
}

ImageStore::ImageStore(std::string dir) : dir_(std::move(dir)) {}

void ImageStore::unpack(const std::string& fingerprint, const std::string&) const {
    throw Error(404, "Image not found: " + fingerprint);
}

} // namespace lodge::daemon
