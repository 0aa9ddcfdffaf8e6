// What lodge reads from a simplestreams remote itself, as lxc does: the
// images it offers (for `image list`) and what an alias names (for
// `image copy`); lodged then pulls by server URL and fingerprint.
#pragma once

#include "cli/remotes.hpp"
#include "daemon/images/simplestreams.hpp"

#include <nlohmann/json.hpp>

namespace lodge::cli {

// The images as LXD image objects (GET /1.0/images?recursion=1's shape).
nlohmann::json simplestreams_images(const Remote& remote);

// The image an alias or fingerprint names on the server, as an LXD image
// object; throws with the server's URL when there is none.
nlohmann::json simplestreams_image(const Remote& remote, const std::string& name);

} // namespace lodge::cli
