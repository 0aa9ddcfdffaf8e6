// A VM disk turned into an image: the disk (read where it is for a local
// client, or the upload the server kept in a file as it arrived) is read by
// images/vm into a new volume on the
// default profile's pool, which becomes the pool's cached volume of the
// image, and packed into the image store under its fingerprint.
#include "daemon/api/images_vm.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "daemon/api/image_record.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/storage_pools.hpp"
#include "daemon/http/target.hpp"
#include "daemon/images/publish.hpp"
#include "daemon/storage/pools.hpp"
#include "images/vm/import.hpp"
#include "storage/size.hpp"
#include "storage/tree.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace lodge::daemon {

namespace {

struct VmImportRequest {
    std::string disk_name;
    vm::ImportOptions options;
    api::Image image;
    std::map<std::string, std::string> properties;
    std::vector<api::ImageAlias> aliases;
};


std::vector<std::pair<std::string, std::string>> form_pairs(const std::string& text, const std::string& what) {
    auto pairs = parse_form(text);
    if (!pairs) throw Error(400, "Bad " + what + " header");
    return *pairs;
}

bool flag(const std::string& value) { return value.empty() || value == "1" || value == "true" || value == "yes"; }

VmImportRequest parse(const Request& request) {
    VmImportRequest req;
    auto name = percent_decode(request.header("x-lodge-vm-disk"));
    if (!name) throw Error(400, "Bad X-Lodge-VM-Disk header");
    // Only the last path component: it names the source in properties.
    req.disk_name = name->substr(name->rfind('/') == std::string::npos ? 0 : name->rfind('/') + 1);
    if (req.disk_name.size() > 255) req.disk_name.resize(255);
    for (const auto& [key, value] : form_pairs(request.header("x-lodge-vm-options"), "X-Lodge-VM-Options")) {
        if (key == "dry-run") req.options.dry_run = flag(value);
        else if (key == "force") req.options.force = flag(value);
        else if (key == "keep-network") req.options.keep_network = flag(value);
        else if (key == "keep-machine-id") req.options.keep_machine_id = flag(value);
        else if (key == "alias") {
            if (value.empty() || value.find('/') != std::string::npos)
                throw Error(400, "Invalid alias name \"" + value + "\"");
            api::ImageAlias alias;
            alias.name = value;
            req.aliases.push_back(alias);
        } else {
            throw Error(400, "Unknown VM import option \"" + key + "\"");
        }
    }
    for (const auto& [key, value] : form_pairs(request.header("x-lxd-properties"), "X-LXD-properties"))
        req.properties[key] = value;
    const auto pub = request.header("x-lxd-public");
    req.image.is_public = pub == "1" || pub == "true";
    req.image.filename = req.disk_name;
    return req;
}

// The server's limit on a disk's virtual size, when the admin set one.
std::uint64_t max_virtual_size(Daemon& daemon, std::uint64_t fallback) {
    auto config = daemon.with_db([](db::Database& db) { return db::load_server_config(db); });
    auto it = config.find("lodge.images.vm_max_virtual_size");
    return it == config.end() || it->second.empty() ? fallback : storage::parse_size(it->second);
}

// The image's metadata.yaml, written into the volume so the store's
// tarball and the cached volume say the same.
std::string metadata_yaml(const vm::Plan& plan, const VmImportRequest& req,
                          std::map<std::string, std::string>& properties) {
    properties["os"] = plan.os;
    properties["release"] = plan.os_release;
    properties["version"] = plan.os_version;
    properties["architecture"] = plan.architecture;
    properties["description"] = fmt::format("{} {} imported from the VM disk {}", plan.os, plan.os_release,
                                            req.disk_name);
    properties["lodge.import.source"] = fmt::format("{} ({})", req.disk_name, plan.format);
    properties["lodge.import.root"] = plan.root + ": " + plan.root_reason;
    std::string fixups;
    for (const auto& f : plan.fixups) fixups += fmt::format("[{}] {}: {}\n", f.fixup, f.path, f.action);
    properties["lodge.import.fixups"] = fixups;
    for (const auto& [k, v] : req.properties) properties[k] = v;
    YAML::Node doc;
    doc["architecture"] = plan.architecture;
    doc["creation_date"] = static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>(api::now().time_since_epoch()).count());
    for (const auto& [k, v] : properties) doc["properties"][k] = v;
    YAML::Emitter out;
    out << doc;
    return std::string(out.c_str()) + "\n";
}

std::string import_pool(Daemon& daemon) {
    return daemon.with_db([](db::Database& db) {
        auto project = db::project_id(db, "default");
        std::string pool = project ? db::profile_root_pool(db, *project, "default") : "";
        if (pool.empty()) {
            auto names = db::storage_pool_names(db);
            if (names.empty()) throw Error(400, "No storage pool to import the VM disk into: create one first");
            pool = names.front();
        }
        return pool;
    });
}

} // namespace

bool is_vm_disk_upload(const Request& request) { return request.headers.count("x-lodge-vm-disk") > 0; }

api::Response import_vm_disk(Daemon& daemon, Request& request) {
    // A client on this host names the disk instead of copying it: the local
    // socket is root's (and the lodge group's, who are root's equals here).
    std::string disk_path;
    if (auto it = request.headers.find("x-lodge-vm-disk-path"); it != request.headers.end()) {
        if (!request.local)
            throw Error(403, "A VM disk is named by path only over the local socket; upload it instead");
        auto path = percent_decode(it->second);
        if (!path || path->empty() || (*path)[0] != '/') throw Error(400, "The VM disk path must be absolute");
        struct stat st{};
        if (::stat(path->c_str(), &st) != 0) throw Error(400, "The VM disk " + *path + " cannot be read: " + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) throw Error(400, "The VM disk " + *path + " is not a regular file");
        disk_path = *path;
    } else if (!request.body_file) {
        throw Error(400, "The VM disk upload is empty");
    }
    auto req = parse(request);
    req.options.max_virtual_size = max_virtual_size(daemon, req.options.max_virtual_size);
    daemon.with_db([&](db::Database& db) {
        for (const auto& alias : req.aliases)
            if (db::get_alias(db, alias.name)) throw Error(409, "Alias '" + alias.name + "' already exists");
        return 0;
    });
    OperationSpec spec;
    spec.description = req.options.dry_run ? "Planning VM disk import" : "Importing VM disk";
    auto op = daemon.operations().start(spec, [&daemon, req = std::move(req), disk = std::move(request.body_file),
                                               disk_path](OperationContext& ctx) mutable {
        const std::string source = disk ? disk->path : disk_path;
        const std::string work = daemon.vm_import_dir() + "/" + ctx.id();
        make_dirs(work, 0700);
        Reverter undo;
        undo.add([&] { storage::remove_tree(work); });
        auto progress = [&ctx](const std::string& phase, int percent) {
            ctx.set_metadata({{"vm_import_progress", fmt::format("{}: {}%", phase, percent)}});
        };
        if (req.options.dry_run) {
            auto plan = vm::import_disk(source, work, "", req.options, progress);
            ctx.set_metadata({{"plan", vm::to_json(plan)}});
            return;
        }
        const auto pool = import_pool(daemon);
        auto& driver = daemon.pools().driver(pool);
        const storage::Volume volume{storage::VolumeType::Image, "vm-import-" + ctx.id(), {}};
        driver.create_volume(volume);
        undo.add([&driver, volume] {
            if (driver.exists(volume)) driver.delete_volume(volume);
        });
        const auto dir = driver.path(volume);
        check(::mkdir((dir + "/rootfs").c_str(), 0755), "creating " + dir + "/rootfs");
        auto plan = vm::import_disk(source, work, dir + "/rootfs", req.options, progress);
        disk.reset(); // the upload is no longer needed
        std::map<std::string, std::string> properties;
        write_file_atomic(dir + "/metadata.yaml", metadata_yaml(plan, req, properties), 0644);
        progress("storing", 0);
        PackOptions pack;
        pack.compression = "none"; // the cost of an import is the copy; compression would double it
        auto stored = daemon.images().add_written([&](int fd) { return pack_instance(dir, pack, fd); });
        daemon.pools().adopt_image_volume(pool, volume, stored.fingerprint);
        req.image.created_at = api::now();
        spdlog::info("VM disk {} imported as image {} ({} fixups)", req.disk_name, stored.fingerprint,
                     plan.fixups.size());
        const auto fingerprint = stored.fingerprint;
        const auto size = stored.size;
        record_image(daemon, std::move(req.image), std::move(stored), {}, ctx, req.aliases);
        undo.success();
        storage::remove_tree(work);
        ctx.set_metadata({{"fingerprint", fingerprint}, {"size", std::to_string(size)}, {"plan", vm::to_json(plan)}});
    });
    return api::async_response(op.url(), op);
}

} // namespace lodge::daemon
