// Pulling images from simplestreams servers into the image store: what
// POST /1.0/images with a "pull" source does, and what instance creation
// calls for an image on another server.
#pragma once

#include "api/response.hpp"
#include "daemon/operations.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::daemon {

class Daemon;

// An image on another server, as a request's "source" names it.
struct RemoteImageSource {
    std::string server;                    // "https://images.example.org"
    std::string protocol = "simplestreams"; // the only one lodge pulls from
    std::string alias;                      // "debian/12" or "debian/12/arm64", or
    std::string fingerprint;                // a fingerprint or a unique prefix of one
    std::string certificate;                // the server's PEM (kept in images_source; CAs decide trust)
};

// Reads server, protocol, alias, fingerprint and certificate of a request's
// "source" object; Error(400) when the server or both names are missing,
// Error(501) for a protocol other than simplestreams.
RemoteImageSource remote_image_source(const nlohmann::json& source);

struct PullOptions {
    bool cached = false; // pulled for an instance, not asked for by name
    bool auto_update = false;
    bool is_public = false;
    std::vector<nlohmann::json> aliases; // {"name", "description"} to point at the image
};

// The image's fingerprint, downloading it (with "download_progress" in
// progress's metadata, as LXD reports it) only when the store lacks it.
// Every file is checked against its published size and SHA-256 and the
// image against its combined fingerprint; on any failure nothing is kept.
std::string pull_image(Daemon& daemon, const RemoteImageSource& source, OperationContext& progress,
                       const PullOptions& options);

// For instance creation: cached=true, auto_update on, as LXD caches images
// it pulled to create an instance.
inline std::string pull_image(Daemon& daemon, const RemoteImageSource& source, OperationContext& progress) {
    return pull_image(daemon, source, progress, PullOptions{.cached = true, .auto_update = true});
}

// POST /1.0/images with {"source": {"type": "image", "mode": "pull", ...}}:
// the pull as an operation.
api::Response start_image_pull(Daemon& daemon, const nlohmann::json& body);

} // namespace lodge::daemon
