// Recording an image the store has just taken (upload, publish): its rows
// in the database, the operation's metadata and the image-created event.
#pragma once

#include "api/image.hpp"
#include "daemon/images/store.hpp"

#include <map>
#include <string>
#include <vector>

namespace lodge::daemon {

class Daemon;
class OperationContext;

// Fills image from stored (fingerprint, size, architecture, dates,
// properties, then `extra` properties over them), inserts it with its
// aliases in one transaction, sets the operation's metadata to LXD's
// {"fingerprint", "size"} and announces it. On failure the stored files
// are removed again.
void record_image(Daemon& daemon, api::Image image, StoredImage stored,
                  const std::map<std::string, std::string>& extra, OperationContext& ctx,
                  const std::vector<api::ImageAlias>& aliases = {});

} // namespace lodge::daemon
