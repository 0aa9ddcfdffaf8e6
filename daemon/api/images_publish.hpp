// POST /1.0/images with an instance or snapshot as the source (`lxc
// publish`): the instance packed into a new image (daemon/images/publish.hpp).
#pragma once

#include "daemon/http/message.hpp"
#include "daemon/http/router.hpp"

namespace lodge::daemon {

class Daemon;

// Whether an image POST's JSON body names an instance, container or
// snapshot source (other sources are images.cpp's).
bool is_publish_request(const Request& request);

// Checks the request (source, compression, aliases, the instance stopped)
// and starts the operation that packs, stores and records the image; its
// metadata ends with the "fingerprint".
api::Response publish_image(Daemon& daemon, const Request& request);

} // namespace lodge::daemon
