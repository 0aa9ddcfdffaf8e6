// Pulling an image from a simplestreams server: resolve the alias or
// fingerprint in the server's catalog, download the metadata and rootfs
// files (each checked against its published size and SHA-256), store them
// as a split image (which checks the combined fingerprint) and record the
// image, its source and its aliases as one transaction.
#include "daemon/api/images_pull.hpp"

#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/image_sources.hpp"
#include "daemon/db/images.hpp"
#include "daemon/images/simplestreams.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <mutex>

namespace lodge::daemon {

namespace {

namespace ss = lodge::simplestreams;

std::string text_field(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) throw Error(400, std::string("source.") + key + " must be a string");
    return j[key].get<std::string>();
}

bool full_fingerprint(const std::string& s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// "download_progress": "rootfs: 45% (12.30MB/s)", at most a few times a
// second; a cancelled operation stops the transfer.
ss::ProgressFn reporter(OperationContext& op, const std::string& stage) {
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [&op, stage, last](const ss::Progress& p) {
        if (op.cancel_requested()) return false;
        auto now = std::chrono::steady_clock::now();
        if (p.done > 0 && now - *last >= std::chrono::milliseconds(250)) {
            *last = now;
            op.set_metadata({{"download_progress", stage + ": " + ss::progress_text(p)}});
        }
        return true;
    };
}

std::optional<std::string> known_image(Daemon& daemon, const std::string& fingerprint) {
    return daemon.with_db([&](db::Database& db) -> std::optional<std::string> {
        if (!db::get_image(db, fingerprint) || !daemon.images().contains(fingerprint)) return std::nullopt;
        return fingerprint;
    });
}

void add_aliases(db::Database& db, const std::vector<nlohmann::json>& aliases, const std::string& fingerprint) {
    for (const auto& a : aliases) {
        api::ImageAlias alias;
        alias.name = a["name"].get<std::string>();
        alias.description = a.contains("description") && a["description"].is_string() ? a["description"].get<std::string>() : "";
        alias.target = fingerprint;
        if (alias.name.empty()) throw Error(400, "Alias name missing");
        if (alias.name.find('/') != std::string::npos) throw Error(400, "Alias names may not contain '/'");
        db::create_alias(db, alias);
    }
}

// Stores the downloaded files and records the image; the store checks the
// combined fingerprint before it writes anything.
void store_pulled(Daemon& daemon, const ss::Image& remote, const std::string& metadata, const std::string& rootfs,
                  const RemoteImageSource& source, const PullOptions& options) {
    // One at a time: two pulls of the same image must not both store it
    // and the loser's cleanup remove the winner's files.
    static std::mutex pulls;
    std::lock_guard lock(pulls);
    if (known_image(daemon, remote.fingerprint)) return;
    auto stored = daemon.images().add_split(metadata, rootfs, remote.fingerprint);
    api::Image image;
    image.fingerprint = stored.fingerprint;
    image.filename = remote.filename();
    image.size = stored.size;
    image.architecture = stored.architecture;
    // As LXD records a pulled image: the catalog's dates and properties.
    image.created_at = remote.created_at;
    image.expires_at = stored.expires_at;
    image.uploaded_at = api::now();
    image.properties = remote.properties;
    image.is_public = options.is_public;
    image.auto_update = options.auto_update;
    image.cached = options.cached;
    try {
        daemon.with_db([&](db::Database& db) {
            db.transaction([&] {
                db::create_image(db, image);
                db::set_image_source(db, image.fingerprint,
                                     {source.server, source.protocol, source.certificate,
                                      source.alias.empty() ? source.fingerprint : source.alias});
            });
        });
    } catch (...) {
        daemon.images().remove(image.fingerprint);
        throw;
    }
    spdlog::info("image {} pulled from {} ({} bytes)", image.fingerprint, source.server, image.size);
    daemon.events().lifecycle("image-created", "/1.0/images/" + image.fingerprint, {{"type", image.type}});
}

} // namespace

RemoteImageSource remote_image_source(const nlohmann::json& source) {
    if (!source.is_object()) throw Error(400, "The image source must be an object");
    RemoteImageSource out;
    out.server = text_field(source, "server");
    out.protocol = text_field(source, "protocol");
    out.alias = text_field(source, "alias");
    out.fingerprint = text_field(source, "fingerprint");
    out.certificate = text_field(source, "certificate");
    if (out.protocol.empty()) out.protocol = "lxd"; // LXD's default
    if (out.server.empty()) throw Error(400, "The image source has no server");
    if (out.protocol != "simplestreams")
        throw Error(501, "Pulling images with protocol \"" + out.protocol +
                             "\" is not supported: lodge pulls from simplestreams servers only");
    if (out.server.rfind("https://", 0) != 0) throw Error(400, "Only https URLs are supported for simplestreams");
    if (out.alias.empty() && out.fingerprint.empty()) throw Error(400, "The image source names no alias or fingerprint");
    return out;
}

std::string pull_image(Daemon& daemon, const RemoteImageSource& source, OperationContext& progress,
                       const PullOptions& options) {
    const auto& wanted = source.fingerprint.empty() ? source.alias : source.fingerprint;
    // A full fingerprint the store has needs no network.
    if (full_fingerprint(source.fingerprint))
        if (auto fp = known_image(daemon, source.fingerprint)) return *fp;
    const auto catalog = ss::fetch_catalog(source.server);
    const auto& remote = catalog.resolve(wanted);
    const auto& types = ss::supported_rootfs_types();
    if (std::find(types.begin(), types.end(), remote.rootfs_type) == types.end())
        throw Error(501, "The image " + remote.fingerprint + " has a " + remote.rootfs_type +
                             " rootfs, which this lodge cannot store yet");
    if (auto fp = known_image(daemon, remote.fingerprint)) return *fp;
    auto metadata = ss::download(source.server, remote.metadata, reporter(progress, "metadata"));
    auto rootfs = ss::download(source.server, remote.rootfs, reporter(progress, "rootfs"));
    if (progress.cancel_requested()) throw Error(400, "Image download cancelled");
    store_pulled(daemon, remote, metadata, rootfs, source, options);
    return remote.fingerprint;
}

api::Response start_image_pull(Daemon& daemon, const nlohmann::json& body) {
    auto source = remote_image_source(body.contains("source") ? body["source"] : nlohmann::json());
    auto flag = [&](const char* key) {
        if (!body.contains(key) || body[key].is_null()) return false;
        if (!body[key].is_boolean()) throw Error(400, std::string("'") + key + "' must be true or false");
        return body[key].get<bool>();
    };
    PullOptions options;
    options.auto_update = flag("auto_update");
    options.is_public = flag("public");
    if (body.contains("aliases") && body["aliases"].is_array())
        for (const auto& a : body["aliases"]) {
            if (!a.is_object() || !a.contains("name") || !a["name"].is_string())
                throw Error(400, "Each alias must be an object with a name");
            options.aliases.push_back(a);
        }
    // A taken alias fails before anything is downloaded.
    daemon.with_db([&](db::Database& db) {
        for (const auto& a : options.aliases)
            if (db::get_alias(db, a["name"].get<std::string>()))
                throw Error(409, "Alias '" + a["name"].get<std::string>() + "' already exists");
    });
    OperationSpec spec;
    spec.description = "Downloading image";
    spec.may_cancel = true;
    auto op = daemon.operations().start(spec, [&daemon, source, options](OperationContext& ctx) {
        auto fingerprint = pull_image(daemon, source, ctx, options);
        daemon.with_db([&](db::Database& db) { db.transaction([&] { add_aliases(db, options.aliases, fingerprint); }); });
        auto image = daemon.with_db([&](db::Database& db) { return db::get_image(db, fingerprint); });
        ctx.set_metadata({{"fingerprint", fingerprint}, {"size", std::to_string(image ? image->size : 0)}});
    });
    return api::async_response(op.url(), op);
}

} // namespace lodge::daemon
