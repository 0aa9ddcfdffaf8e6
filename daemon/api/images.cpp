// /1.0/images: the image store over the API — list, get, upload (a unified
// tarball as the raw body, as `lxc image import FILE` sends it), edit,
// delete — and /1.0/images/aliases.
#include "common/error.hpp"
#include "daemon/api/image_record.hpp"
#include "daemon/api/images_publish.hpp"
#include "daemon/api/images_pull.hpp"
#include "daemon/api/images_vm.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/http/multipart.hpp"
#include "daemon/http/target.hpp"
#include "daemon/images/squashfs.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <tuple>

namespace lodge::daemon {

namespace {

// The fingerprint a URL names: full or a unique prefix.
std::string find_fingerprint(db::Database& db, const std::string& name) {
    auto fp = db::match_fingerprint(db, name);
    if (!fp) throw Error(404, "Image not found");
    return *fp;
}

bool header_true(const Request& r, const std::string& name) {
    auto it = r.headers.find(name);
    if (it == r.headers.end()) return false;
    return it->second == "1" || it->second == "true" || it->second == "yes" || it->second == "on";
}


// X-LXD-properties: a form-encoded "key=value&key2=value2".
std::map<std::string, std::string> header_properties(const Request& r) {
    auto pairs = parse_form(r.header("x-lxd-properties"));
    if (!pairs) throw Error(400, "Bad X-LXD-properties header");
    std::map<std::string, std::string> out;
    for (auto& [key, value] : *pairs) out[key] = std::move(value); // the last of a repeated key wins
    return out;
}

api::Response list_images(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        request_project_id(db, request);
        std::vector<std::string> names;
        for (auto& fp : db::image_fingerprints(db)) {
            // Untrusted callers see public images only, as with LXD.
            if (!request.trusted && !db::get_image(db, fp)->is_public) continue;
            names.push_back(fp);
        }
        return api::sync_response(
            collection(depth, "/1.0/images/", names, [&](const std::string& fp) { return *db::get_image(db, fp); }));
    });
}

api::Response get_image(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) {
        auto image = db::get_image(db, find_fingerprint(db, request.param("fingerprint")));
        if (!request.trusted && !image->is_public) throw Error(404, "Image not found");
        return api::sync_response(*image);
    });
}

api::Response upload_image(Daemon& daemon, Request& request) {
    if (is_vm_disk_upload(request)) return import_vm_disk(daemon, request);
    const auto content_type = request.header("content-type");
    if (content_type.rfind("application/json", 0) == 0 && is_publish_request(request))
        return publish_image(daemon, request);
    if (content_type.rfind("application/json", 0) == 0) {
        auto body = json_body(request);
        if (body.is_object() && body.contains("source") && body["source"].is_object() &&
            body["source"].value("type", "") == "image" && body["source"].value("mode", "pull") == "pull")
            return start_image_pull(daemon, body);
        throw Error(501, "Creating images from URLs or LXD servers is not supported; upload an image tarball "
                         "(lxc image import FILE), publish an instance or pull from a simplestreams server");
    }
    if (request.body.empty()) throw Error(400, "Empty image upload");
    api::Image image;
    image.filename = request.header("x-lxd-filename");
    // A split image (lxc image import META ROOTFS): the metadata part, then
    // the rootfs part, whose file name the image takes (as LXD does).
    std::string metadata, rootfs;
    if (content_type.rfind("multipart/form-data", 0) == 0) {
        auto parts = parse_multipart(content_type, request.body);
        // rootfs.img is a VM disk unless it is a container's squashfs.
        if (parts.size() == 2 && parts[0].name == "metadata" && parts[1].name == "rootfs.img" &&
            !is_squashfs(parts[1].data))
            throw Error(501, "Virtual machine images are not supported");
        if (parts.size() != 2 || parts[0].name != "metadata" || (parts[1].name != "rootfs" && parts[1].name != "rootfs.img"))
            throw Error(400, "Invalid multipart image: expected the parts metadata and rootfs");
        metadata = std::move(parts[0].data);
        rootfs = std::move(parts[1].data);
        image.filename = parts[1].filename;
        request.body.clear();
    }
    image.is_public = header_true(request, "x-lxd-public");
    auto extra_properties = header_properties(request);
    auto expected = request.header("x-lxd-fingerprint");
    OperationSpec spec;
    spec.description = "Downloading image";
    auto op = daemon.operations().start(
        spec, [&daemon, image = std::move(image), extra = std::move(extra_properties), expected = std::move(expected),
               body = std::move(request.body), metadata = std::move(metadata),
               rootfs = std::move(rootfs)](OperationContext& ctx) mutable {
            // One upload at a time: two of the same file must not both
            // store it and the loser's cleanup remove the winner's file.
            static std::mutex uploads;
            std::lock_guard lock(uploads);
            auto stored = body.empty() ? daemon.images().add_split(metadata, rootfs, expected)
                                       : daemon.images().add(body, expected);
            body.clear();
            metadata.clear();
            rootfs.clear();
            record_image(daemon, std::move(image), std::move(stored), extra, ctx);
        });
    return api::async_response(op.url(), op);
}

// The image file as uploaded (lxc image export checks it against the
// fingerprint), named as LXD names it.
HttpResponse export_image(Daemon& daemon, const Request& request) {
    auto image = daemon.with_db([&](db::Database& db) {
        return *db::get_image(db, find_fingerprint(db, request.param("fingerprint")));
    });
    if (!request.trusted && !image.is_public) throw Error(404, "Image not found");
    HttpResponse reply;
    auto& store = daemon.images();
    auto extension = [](const std::string& b) {
        auto starts = [&b](std::string_view magic) { return b.compare(0, magic.size(), magic) == 0; };
        return starts("hsqs")                 ? ".squashfs"
               : starts("BZh")                ? ".tar.bz2"
               : starts("\x1f\x8b")           ? ".tar.gz"
               : starts("\xfd" "7zXZ")         ? ".tar.xz"
               : starts("\x28\xb5\x2f\xfd") ? ".tar.zst"
                                                : ".tar";
    };
    if (store.is_split(image.fingerprint)) {
        // Both files as multipart, as LXD answers for split images.
        auto meta = store.file(image.fingerprint);
        auto rootfs = store.rootfs_file(image.fingerprint);
        std::vector<FormPart> parts{{"metadata", "meta-" + image.fingerprint + extension(meta), std::move(meta)},
                                    {"rootfs", image.fingerprint + extension(rootfs), std::move(rootfs)}};
        std::tie(reply.body, reply.content_type) = write_multipart(parts);
        return reply;
    }
    reply.content_type = "application/octet-stream";
    reply.body = store.file(image.fingerprint);
    auto filename = image.filename.empty() ? image.fingerprint + extension(reply.body) : image.filename;
    reply.headers.emplace_back("Content-Disposition", "inline;filename=" + filename);
    return reply;
}

api::Response delete_image(Daemon& daemon, const Request& request) {
    const auto fp = daemon.with_db([&](db::Database& db) { return find_fingerprint(db, request.param("fingerprint")); });
    OperationSpec spec;
    spec.description = "Deleting image";
    spec.resources = std::map<std::string, std::vector<std::string>>{{"images", {"/1.0/images/" + fp}}};
    auto op = daemon.operations().start(spec, [&daemon, fp](OperationContext&) {
        bool deleted = daemon.with_db([&](db::Database& db) { return db::delete_image(db, fp); });
        if (!deleted) throw Error(404, "Image not found");
        daemon.images().remove(fp);
        daemon.pools().remove_image_volumes(fp);
        daemon.events().lifecycle("image-deleted", "/1.0/images/" + fp);
    });
    return api::async_response(op.url(), op);
}

// PUT replaces the editable fields (auto_update, public, properties); PATCH
// changes those the body names, merging properties.
api::Response update_image(Daemon& daemon, const Request& request, bool replace) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be an image object");
    std::string fp;
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            fp = find_fingerprint(db, request.param("fingerprint"));
            auto image = *db::get_image(db, fp);
            if (replace || body.contains("public")) image.is_public = body.value("public", false);
            if (replace || body.contains("auto_update")) image.auto_update = body.value("auto_update", false);
            if (body.contains("properties") && !body["properties"].is_null()) {
                auto props = body["properties"].get<std::map<std::string, std::string>>();
                if (replace) image.properties.clear();
                for (auto& [k, v] : props) image.properties[k] = v;
            } else if (replace) {
                image.properties.clear();
            }
            db::update_image(db, image);
        });
    });
    daemon.events().lifecycle("image-updated", "/1.0/images/" + fp);
    return api::sync_response(nlohmann::json::object());
}

api::Response list_aliases(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    return daemon.with_db([&](db::Database& db) {
        return api::sync_response(collection(depth, "/1.0/images/aliases/", db::alias_names(db),
                                             [&](const std::string& name) { return *db::get_alias(db, name); }));
    });
}

api::Response get_alias(Daemon& daemon, const Request& request) {
    return daemon.with_db([&](db::Database& db) {
        auto alias = db::get_alias(db, request.param("name"));
        if (!alias) throw Error(404, "Image alias not found");
        return api::sync_response(*alias);
    });
}

std::string string_field(const nlohmann::json& body, const char* key) {
    if (!body.contains(key) || body[key].is_null()) return "";
    if (!body[key].is_string()) throw Error(400, std::string("'") + key + "' must be a string");
    return body[key].get<std::string>();
}

HttpResponse create_alias(Daemon& daemon, const Request& request) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be an alias object");
    api::ImageAlias alias;
    alias.name = string_field(body, "name");
    alias.description = string_field(body, "description");
    auto target = string_field(body, "target");
    if (alias.name.empty()) throw Error(400, "Alias name missing");
    if (alias.name.find('/') != std::string::npos) throw Error(400, "Alias names may not contain '/'");
    if (target.empty()) throw Error(400, "Alias target missing");
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            alias.target = find_fingerprint(db, target);
            db::create_alias(db, alias);
        });
    });
    daemon.events().lifecycle("image-alias-created", "/1.0/images/aliases/" + alias.name,
                              {{"target", alias.target}});
    // LXD answers 201 Created with the alias' URL.
    auto reply = to_http(api::sync_response(nullptr));
    reply.status = 201;
    reply.headers.emplace_back("Location", "/1.0/images/aliases/" + alias.name);
    return reply;
}

api::Response update_alias(Daemon& daemon, const Request& request, bool replace) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be an alias object");
    const auto& name = request.param("name");
    daemon.with_db([&](db::Database& db) {
        db.transaction([&] {
            auto alias = db::get_alias(db, name);
            if (!alias) throw Error(404, "Image alias not found");
            if (replace || body.contains("description")) alias->description = string_field(body, "description");
            auto target = string_field(body, "target");
            if (replace && target.empty()) throw Error(400, "Alias target missing");
            if (!target.empty()) alias->target = find_fingerprint(db, target);
            db::update_alias(db, *alias);
        });
    });
    daemon.events().lifecycle("image-alias-updated", "/1.0/images/aliases/" + name);
    return api::sync_response(nlohmann::json::object());
}

api::Response rename_alias(Daemon& daemon, const Request& request) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "The request body must be an object with the new name");
    auto to = string_field(body, "name");
    if (to.empty()) throw Error(400, "New alias name missing");
    if (to.find('/') != std::string::npos) throw Error(400, "Alias names may not contain '/'");
    const auto& from = request.param("name");
    daemon.with_db([&](db::Database& db) { db.transaction([&] { db::rename_alias(db, from, to); }); });
    daemon.events().lifecycle("image-alias-renamed", "/1.0/images/aliases/" + to, {{"old_name", from}});
    return api::sync_response(nlohmann::json::object());
}

api::Response delete_alias(Daemon& daemon, const Request& request) {
    const auto& name = request.param("name");
    bool deleted = daemon.with_db([&](db::Database& db) { return db::delete_alias(db, name); });
    if (!deleted) throw Error(404, "Image alias not found");
    daemon.events().lifecycle("image-alias-deleted", "/1.0/images/aliases/" + name);
    return api::sync_response(nlohmann::json::object());
}

} // namespace

void add_image_routes(Router& router, Daemon& daemon) {
    auto& d = daemon;
    router.add("GET", "/1.0/images", [&d](Request& r) -> Reply { return list_images(d, r); });
    router.add("POST", "/1.0/images", [&d](Request& r) -> Reply { return upload_image(d, r); });
    router.add("GET", "/1.0/images/{fingerprint}", [&d](Request& r) -> Reply { return get_image(d, r); });
    router.add("GET", "/1.0/images/{fingerprint}/export", [&d](Request& r) -> Reply { return export_image(d, r); });
    router.add("DELETE", "/1.0/images/{fingerprint}", [&d](Request& r) -> Reply { return delete_image(d, r); });
    router.add("PUT", "/1.0/images/{fingerprint}", [&d](Request& r) -> Reply { return update_image(d, r, true); });
    router.add("PATCH", "/1.0/images/{fingerprint}", [&d](Request& r) -> Reply { return update_image(d, r, false); });
    router.add("GET", "/1.0/images/aliases", [&d](Request& r) -> Reply { return list_aliases(d, r); });
    router.add("POST", "/1.0/images/aliases", [&d](Request& r) -> Reply { return create_alias(d, r); });
    router.add("GET", "/1.0/images/aliases/{name}", [&d](Request& r) -> Reply { return get_alias(d, r); });
    router.add("PUT", "/1.0/images/aliases/{name}", [&d](Request& r) -> Reply { return update_alias(d, r, true); });
    router.add("PATCH", "/1.0/images/aliases/{name}", [&d](Request& r) -> Reply { return update_alias(d, r, false); });
    router.add("POST", "/1.0/images/aliases/{name}", [&d](Request& r) -> Reply { return rename_alias(d, r); });
    router.add("DELETE", "/1.0/images/aliases/{name}", [&d](Request& r) -> Reply { return delete_alias(d, r); });
}

} // namespace lodge::daemon
