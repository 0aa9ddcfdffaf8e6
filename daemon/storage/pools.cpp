// Pools: drivers made from the database, cached image volumes, reconcile.
#include "daemon/storage/pools.hpp"

#include "api/time.hpp"
#include "common/error.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/images.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "daemon/db/storage_pools.hpp"
#include "daemon/db/storage_volumes.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <set>
#include <tuple>

namespace lodge::daemon {

namespace {

using storage::Volume;
using storage::VolumeType;

VolumeType volume_type(const std::string& type) {
    if (type == "container") return VolumeType::Container;
    if (type == "image") return VolumeType::Image;
    return VolumeType::Custom;
}

std::string describe(const Volume& v) {
    return std::string(storage::type_dir(v.type)) + "/" + v.name + (v.is_snapshot() ? "/" + v.snapshot : "");
}

// LXD's rule for pool names: something a path and a URL can carry.
void check_pool_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || name == "." || name == ".." || name.front() == '-' ||
        name.find_first_of("/\\ \t\n:\"'") != std::string::npos)
        throw Error(400, "Invalid storage pool name \"" + name + "\"");
}

// The pool config keys each driver takes; anything else is refused before
// anything is made.
void check_pool_config(const api::StoragePool& pool) {
    static const std::set<std::string> common{"source", "volume.size"};
    static const std::set<std::string> btrfs{"size", "btrfs.mount_options"};
    for (const auto& [key, value] : pool.config) {
        if (common.count(key) || (pool.driver == "btrfs" && btrfs.count(key))) continue;
        throw Error(400, "Invalid storage pool config key \"" + key + "\" for driver \"" + pool.driver + "\"");
    }
}

// Image volumes belong to the default project: images are not per project here.
std::int64_t default_project(db::Database& db) {
    auto id = db::project_id(db, "default");
    if (!id) throw Error(500, "The default project is missing from the database");
    return *id;
}

} // namespace

Pools::Pools(Daemon& daemon) : daemon_(daemon) {}

std::string Pools::disk_name(const std::string& project, const std::string& name) {
    return project == "default" || project.empty() ? name : project + "_" + name;
}

std::unique_ptr<storage::Driver> Pools::make(const api::StoragePool& pool) const {
    return storage::make_driver({pool.name, pool.driver, pool.config}, daemon_.state_dir() + "/storage-pools",
                                daemon_.state_dir() + "/disks");
}

storage::Driver& Pools::driver(const std::string& pool) {
    std::lock_guard lock(mutex_);
    if (auto it = drivers_.find(pool); it != drivers_.end()) return *it->second;
    auto row = daemon_.with_db([&](db::Database& db) { return db::get_storage_pool(db, pool); });
    if (!row) throw Error(404, "Storage pool \"" + pool + "\" not found");
    auto& d = drivers_[pool] = make(*row);
    return *d;
}

void Pools::start() {
    const auto names = daemon_.with_db([](db::Database& db) { return db::storage_pool_names(db); });
    for (const auto& name : names) {
        try {
            auto& d = driver(name);
            d.mount();
            reconcile(name, d);
        } catch (const std::exception& e) {
            spdlog::error("storage pool {}: {}", name, e.what());
        }
    }
}

void Pools::reconcile(const std::string& pool, storage::Driver& driver) {
    for (const auto& path : driver.remove_leftovers())
        spdlog::warn("storage pool {}: removed {}, left by work that did not finish", pool, path);

    // What the database accounts for, as disk volumes.
    struct Known {
        std::set<std::tuple<VolumeType, std::string, std::string>> volumes; // type, disk name, snapshot
        std::vector<std::pair<Volume, std::function<void(db::Database&)>>> rows; // and how to drop each row
    };
    auto known = daemon_.with_db([&](db::Database& db) {
        Known k;
        const auto pool_id = db::storage_pool_id(db, pool);
        if (!pool_id) return k;
        const auto fingerprints = db::image_fingerprints(db);
        const std::set<std::string> images(fingerprints.begin(), fingerprints.end());
        for (const auto& row : db::pool_volumes(db, *pool_id)) {
            const Volume v{volume_type(row.type), disk_name(row.project, row.name), {}};
            k.volumes.insert({v.type, v.name, ""});
            if (row.type == "image") {
                // The cached volume of an image deleted while lodged could
                // not finish removing it goes too.
                if (!images.count(row.name)) {
                    k.volumes.erase({v.type, v.name, ""});
                    db::delete_volume(db, row.id);
                    continue;
                }
                k.rows.push_back({v, [id = row.id](db::Database& d) { db::delete_volume(d, id); }});
            }
            if (row.type == "custom") {
                for (const auto& s : db::volume_snapshots(db, row.id)) {
                    k.volumes.insert({v.type, v.name, s.name});
                    k.rows.push_back({v.snapshot_of(s.name),
                                      [id = s.id](db::Database& d) { db::delete_volume_snapshot(d, id); }});
                }
            }
            if (row.type == "container") {
                auto id = db::instance_id(db, row.project_id, row.name);
                if (!id) continue;
                for (const auto& s : db::instance_snapshots(db, *id)) {
                    k.volumes.insert({v.type, v.name, s.name});
                    auto sid = *db::instance_snapshot_id(db, *id, s.name);
                    k.rows.push_back({v.snapshot_of(s.name),
                                      [sid](db::Database& d) { db::delete_instance_snapshot(d, sid); }});
                }
            }
        }
        return k;
    });

    for (const auto& v : driver.list_volumes()) {
        if (known.volumes.count({v.type, v.name, v.snapshot})) continue;
        // A snapshot whose parent is unknown goes with the parent.
        if (v.is_snapshot() && !known.volumes.count({v.type, v.name, ""}) && driver.exists(v.parent())) continue;
        try {
            if (v.is_snapshot())
                driver.delete_snapshot(v);
            else
                driver.delete_volume(v);
            spdlog::warn("storage pool {}: removed {}, which no database row accounts for", pool, describe(v));
        } catch (const std::exception& e) {
            spdlog::error("storage pool {}: removing {}: {}", pool, describe(v), e.what());
        }
    }
    for (const auto& [v, drop] : known.rows) {
        if (driver.exists(v)) continue;
        daemon_.with_db([&](db::Database& db) { drop(db); });
        spdlog::warn("storage pool {}: dropped the database row of {}, which is not on disk", pool, describe(v));
    }
}

storage::Volume Pools::image_volume(const std::string& pool, const std::string& fingerprint) {
    std::lock_guard lock(image_mutex_);
    auto& d = driver(pool);
    const Volume volume{VolumeType::Image, fingerprint, {}};
    const auto row = daemon_.with_db([&](db::Database& db) -> std::optional<db::VolumeRow> {
        auto pool_id = db::storage_pool_id(db, pool);
        if (!pool_id) throw Error(404, "Storage pool \"" + pool + "\" not found");
        return db::get_volume(db, *pool_id, default_project(db), "image", fingerprint);
    });
    if (row && d.exists(volume)) return volume;
    if (d.exists(volume)) d.delete_volume(volume); // a half-made one, from before a crash
    d.create_volume(volume);
    Reverter undo;
    undo.add([&] { d.delete_volume(volume); });
    daemon_.images().unpack(fingerprint, d.path(volume));
    daemon_.with_db([&](db::Database& db) {
        if (row) return;
        db::VolumeRow v;
        v.pool_id = *db::storage_pool_id(db, pool);
        v.project_id = default_project(db);
        v.name = fingerprint;
        v.type = "image";
        v.created_at = api::format_time(api::now());
        db::create_volume(db, v);
    });
    undo.success();
    return volume;
}

void Pools::adopt_image_volume(const std::string& pool, const storage::Volume& filled,
                               const std::string& fingerprint) {
    std::lock_guard lock(image_mutex_);
    auto& d = driver(pool);
    const Volume volume{VolumeType::Image, fingerprint, {}};
    if (d.exists(volume)) d.delete_volume(volume);
    d.rename_volume(filled, fingerprint);
    daemon_.with_db([&](db::Database& db) {
        const auto pool_id = db::storage_pool_id(db, pool);
        if (!pool_id) throw Error(404, "Storage pool \"" + pool + "\" not found");
        if (db::get_volume(db, *pool_id, default_project(db), "image", fingerprint)) return;
        db::VolumeRow v;
        v.pool_id = *pool_id;
        v.project_id = default_project(db);
        v.name = fingerprint;
        v.type = "image";
        v.created_at = api::format_time(api::now());
        db::create_volume(db, v);
    });
}

void Pools::remove_image_volumes(const std::string& fingerprint) {
    std::lock_guard lock(image_mutex_);
    const auto names = daemon_.with_db([](db::Database& db) { return db::storage_pool_names(db); });
    for (const auto& pool : names) {
        try {
            auto& d = driver(pool);
            // The row first: a crash between leaves a volume the reconcile removes.
            daemon_.with_db([&](db::Database& db) {
                auto pool_id = db::storage_pool_id(db, pool);
                if (!pool_id) return;
                if (auto row = db::get_volume(db, *pool_id, default_project(db), "image", fingerprint))
                    db::delete_volume(db, row->id);
            });
            const Volume volume{VolumeType::Image, fingerprint, {}};
            if (d.exists(volume)) d.delete_volume(volume);
        } catch (const std::exception& e) {
            spdlog::error("storage pool {}: removing image volume {}: {}", pool, fingerprint, e.what());
        }
    }
}

api::StoragePool Pools::create_pool(api::StoragePool spec) {
    check_pool_name(spec.name);
    check_pool_config(spec);
    daemon_.with_db([&](db::Database& db) {
        if (db::storage_pool_id(db, spec.name)) throw Error(409, "Storage pool \"" + spec.name + "\" already exists");
    });
    std::lock_guard lock(mutex_);
    if (drivers_.count(spec.name)) throw Error(409, "Storage pool \"" + spec.name + "\" is being created");
    auto d = make(spec);
    d->create();
    Reverter undo;
    undo.add([&] { d->destroy(); });
    spec.config = d->spec().config;
    spec.status = "Created";
    daemon_.with_db([&](db::Database& db) { db.transaction([&] { db::create_storage_pool(db, spec); }); });
    undo.success();
    drivers_[spec.name] = std::move(d);
    return spec;
}

void Pools::delete_pool(const std::string& name) {
    auto pool = daemon_.with_db([&](db::Database& db) { return db::get_storage_pool(db, name); });
    if (!pool) throw Error(404, "Storage pool \"" + name + "\" not found");
    auto& d = driver(name);
    std::vector<std::string> images;
    daemon_.with_db([&](db::Database& db) {
        for (const auto& v : db::pool_volumes(db, *db::storage_pool_id(db, name))) {
            if (v.type != "image") throw Error(400, "The storage pool is currently in use");
            images.push_back(v.name);
        }
        for (const auto& user : pool->used_by)
            if (user.rfind("/1.0/images/", 0) != 0) throw Error(400, "The storage pool is currently in use");
    });
    for (const auto& fp : images) {
        const Volume volume{VolumeType::Image, fp, {}};
        if (d.exists(volume)) d.delete_volume(volume);
    }
    d.destroy();
    daemon_.with_db([&](db::Database& db) {
        db.prepare("DELETE FROM storage_pools WHERE name = ?").bind(1, name).run();
    });
    std::lock_guard lock(mutex_);
    drivers_.erase(name);
}

} // namespace lodge::daemon
