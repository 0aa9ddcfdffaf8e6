// POST /1.0/images from an instance (`lxc publish c1 --alias a`), in LXD's
// ImagesPost shape: source {type: instance|container|snapshot, name},
// properties, aliases, public, compression_algorithm, expires_at, filename.
#include "daemon/api/request_body.hpp"
#include "daemon/api/images_publish.hpp"

#include "common/error.hpp"
#include "daemon/api/image_record.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/images/publish.hpp"
#include "daemon/instances/instances.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

namespace {

struct PublishRequest {
    std::string type; // instance, container, snapshot
    std::string name; // "c1" or "c1/snap"
    PackOptions pack;
    api::Image image;
    std::vector<api::ImageAlias> aliases;
};

PublishRequest parse(const nlohmann::json& body) {
    PublishRequest req;
    const auto& source = body["source"];
    req.type = text_field(source, "type");
    req.name = text_field(source, "name");
    if (req.type.empty() || req.name.empty()) throw Error(400, "No source provided");
    const bool snapshot_name = req.name.find('/') != std::string::npos;
    if (req.type == "snapshot" && !snapshot_name) throw Error(400, "Not a snapshot");
    if (req.type != "snapshot" && snapshot_name) throw Error(400, "This is a snapshot");
    req.pack.compression = text_field(body, "compression_algorithm");
    check_compression(req.pack.compression);
    if (body.contains("properties") && !body["properties"].is_null()) {
        if (!body["properties"].is_object()) throw Error(400, "'properties' must be an object");
        std::map<std::string, std::string> props;
        for (const auto& [k, v] : body["properties"].items()) {
            if (!v.is_string()) throw Error(400, "Property '" + k + "' must be a string");
            props[k] = v.get<std::string>();
        }
        req.pack.properties = std::move(props);
    }
    if (auto expires = text_field(body, "expires_at"); !expires.empty())
        if (!api::parse_time(expires, req.pack.expires_at)) throw Error(400, "Invalid expires_at '" + expires + "'");
    if (body.contains("public") && !body["public"].is_null()) {
        if (!body["public"].is_boolean()) throw Error(400, "'public' must be a boolean");
        req.image.is_public = body["public"].get<bool>();
    }
    if (body.contains("auto_update") && body["auto_update"].is_boolean())
        req.image.auto_update = body["auto_update"].get<bool>();
    req.image.filename = text_field(body, "filename");
    if (body.contains("aliases") && body["aliases"].is_array()) {
        for (const auto& a : body["aliases"]) {
            api::ImageAlias alias;
            alias.name = text_field(a, "name");
            alias.description = text_field(a, "description");
            if (alias.name.empty()) throw Error(400, "Alias name missing");
            if (alias.name.find('/') != std::string::npos) throw Error(400, "Alias names may not contain '/'");
            req.aliases.push_back(std::move(alias));
        }
    }
    return req;
}

void require_stopped(Daemon& daemon, const InstanceLocation& where) {
    // As LXD: a running instance is refused; `lxc publish --force` (and
    // `lodge publish --force`) stop it first and start it again after.
    if (daemon.instances().status(where) != api::StatusCode::Stopped)
        throw Error(400, "Cannot export a running instance as an image");
}

} // namespace

bool is_publish_request(const Request& request) {
    try {
        auto body = nlohmann::json::parse(request.body);
        if (!body.is_object() || !body.contains("source") || !body["source"].is_object()) return false;
        auto type = body["source"].value("type", std::string());
        return type == "instance" || type == "container" || type == "virtual-machine" || type == "snapshot";
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

api::Response publish_image(Daemon& daemon, const Request& request) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be an image object");
    auto req = parse(body);
    if (body["source"].value("type", "") == "virtual-machine")
        throw Error(400, "Virtual machines are not supported");
    std::int64_t project_id = 0;
    daemon.with_db([&](db::Database& db) {
        project_id = request_project_id(db, request);
        for (const auto& alias : req.aliases)
            if (db::get_alias(db, alias.name)) throw Error(409, "Alias '" + alias.name + "' already exists");
        return 0;
    });
    // An instance (stopped, so its files hold still) or one of its
    // snapshots ("c1/snap0", read-only already).
    const bool snapshot = req.type == "snapshot";
    const auto slash = req.name.find('/');
    if (snapshot && slash == std::string::npos)
        throw Error(400, "A snapshot source is named \"instance/snapshot\"");
    const auto instance = snapshot ? req.name.substr(0, slash) : req.name;
    const auto where = daemon.instances().locate(project_id, instance);
    std::string source_dir = where.dir;
    if (snapshot) {
        const auto snap = daemon.instances().get_snapshot(project_id, instance, req.name.substr(slash + 1));
        req.pack.architecture = snap.architecture;
        source_dir = daemon.pools().driver(where.pool).path(where.volume.snapshot_of(snap.name));
    } else {
        req.pack.architecture = daemon.instances().get(project_id, instance).architecture;
        require_stopped(daemon, where);
    }

    OperationSpec spec;
    spec.description = "Downloading image";
    spec.resources = std::map<std::string, std::vector<std::string>>{{"instances", {"/1.0/instances/" + instance}}};
    auto op = daemon.operations().start(spec, [&daemon, req = std::move(req), where, source_dir,
                                               snapshot](OperationContext& ctx) mutable {
        if (!snapshot) require_stopped(daemon, where);
        // Packed straight into the store's directory, never whole in memory.
        auto stored =
            daemon.images().add_written([&](int fd) { return pack_instance(source_dir, req.pack, fd); });
        req.image.created_at = api::now();
        spdlog::info("instance {} published as image {}", req.name, stored.fingerprint);
        record_image(daemon, std::move(req.image), std::move(stored), {}, ctx, req.aliases);
    });
    return api::async_response(op.url(), op);
}

} // namespace lodge::daemon
