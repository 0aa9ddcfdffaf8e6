// Instance backups as LXD keeps them: a tarball per backup under
// <state>/backups/<volume name>/<backup> with its record beside it
// (.<backup>.json), made from the instance's volume and its snapshots'; and
// instances made from uploaded backups, all or nothing.
#include "daemon/instances/instances.hpp"
#include "profiles/schema.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "common/reverter.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/profiles.hpp"
#include "daemon/db/projects.hpp"
#include "daemon/db/snapshots.hpp"
#include "daemon/db/storage_pools.hpp"
#include "daemon/db/storage_volumes.hpp"
#include "daemon/images/publish.hpp"
#include "daemon/images/store.hpp"
#include "daemon/instances/backup_archive.hpp"
#include "daemon/instances/backup_index.hpp"
#include "daemon/uuid.hpp"
#include "runtime/config.hpp"
#include "runtime/control.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace lodge::daemon {

namespace {

namespace fs = std::filesystem;

std::string backup_url(const std::string& name, const std::string& backup) {
    return "/1.0/instances/" + name + "/backups/" + backup;
}

api::Response run_backup_operation(Daemon& daemon, std::string description, const std::string& name,
                                   const std::string& backup, OperationWork work) {
    OperationSpec spec;
    spec.description = std::move(description);
    std::map<std::string, std::vector<std::string>> resources{{"instances", {"/1.0/instances/" + name}},
                                                              {"containers", {"/1.0/containers/" + name}}};
    // `lxc export` takes the backup's name from here.
    if (!backup.empty()) resources["backups"] = {"/1.0/backups/" + backup};
    spec.resources = std::move(resources);
    auto op = daemon.operations().start(std::move(spec), std::move(work));
    return api::async_response("/1.0/operations/" + op.id, op);
}

void check_backup_name(const std::string& name) {
    bool bad = name.empty() || name.front() == '.' || name.size() > 255;
    for (char c : name)
        if (c == '/' || std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            bad = true;
    if (bad)
        throw Error(400, "Invalid backup name \"" + name +
                             "\": it may not be empty, start with \".\" or contain \"/\" or spaces");
}

bool is_zero_time(const std::string& t) {
    api::Time parsed{};
    return t.empty() || (api::parse_time(t, parsed) && parsed == api::Time{});
}

// The pool a root disk device names becomes the one the instance lands on.
void point_root_disk(api::DeviceMap& devices, const std::string& pool) {
    for (auto& [name, keys] : devices)
        if (keys.count("path") && keys.at("path") == "/" && keys.count("type") && keys.at("type") == "disk")
            keys["pool"] = pool;
}

// The unpacked backup's volumes (snapshots first, oldest first, then the
// instance) and the database rows in one transaction; on failure neither.
void restore_instance(Daemon& daemon, std::int64_t project_id, BackupIndex& index, const std::string& pool,
                      const std::string& unpacked) {
    auto& instance = index.instance;
    auto& driver = daemon.pools().driver(pool);
    const storage::Volume volume{storage::VolumeType::Container,
                                 Pools::disk_name(instance.project, instance.name), {}};
    if (driver.exists(volume)) throw Error(409, "Instance volume " + driver.path(volume) + " already exists");
    Reverter undo;
    undo.add([&] {
        if (driver.exists(volume)) {
            driver.delete_volume(volume);
            return;
        }
        for (const auto& s : index.snapshots)
            if (driver.exists(volume.snapshot_of(s.name))) driver.delete_snapshot(volume.snapshot_of(s.name));
    });
    // Snapshots first, oldest first, then the instance.
    for (const auto& s : index.snapshots)
        driver.import_volume(volume.snapshot_of(s.name), unpacked + "/snapshots/" + s.name);
    driver.import_volume(volume, unpacked + "/container");
    record_new_instance(daemon, project_id, instance, pool, index.snapshots);
    undo.success();
}

} // namespace

nlohmann::json Instances::backup_json(const InstanceBackup& b) {
    return nlohmann::json{{"name", b.name},
                          {"created_at", b.created_at},
                          {"expires_at", b.expires_at},
                          {"instance_only", b.instance_only},
                          {"container_only", b.instance_only},
                          {"optimized_storage", b.optimized_storage}};
}

namespace {

std::string backups_dir(Daemon& daemon, const InstanceLocation& where) {
    return daemon.state_dir() + "/backups/" + Pools::disk_name(where.project, where.name);
}

std::string record_path(const std::string& dir, const std::string& backup) { return dir + "/." + backup + ".json"; }

std::optional<Instances::InstanceBackup> read_record(const std::string& dir, const std::string& backup) {
    if (::access((dir + "/" + backup).c_str(), F_OK) != 0) return std::nullopt;
    const auto text = read_file_if_exists(record_path(dir, backup));
    if (text.empty()) return std::nullopt;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    Instances::InstanceBackup b;
    b.name = backup;
    b.created_at = j.value("created_at", "");
    b.expires_at = j.value("expires_at", "0001-01-01T00:00:00Z");
    b.instance_only = j.value("instance_only", false);
    b.optimized_storage = j.value("optimized_storage", false);
    b.compression = j.value("compression_algorithm", "");
    return b;
}

void write_record(const std::string& dir, const Instances::InstanceBackup& b) {
    auto j = Instances::backup_json(b);
    j["compression_algorithm"] = b.compression;
    write_file_atomic(record_path(dir, b.name), j.dump() + "\n", 0600);
}

} // namespace

std::vector<Instances::InstanceBackup> Instances::backups(std::int64_t project_id, const std::string& name) {
    return backups(locate(project_id, name));
}

std::vector<Instances::InstanceBackup> Instances::backups(const InstanceLocation& where) {
    const auto dir = backups_dir(daemon_, where);
    std::vector<InstanceBackup> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto file = e.path().filename().string();
        if (file.empty() || file.front() == '.') continue;
        if (auto b = read_record(dir, file)) out.push_back(*b);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
    return out;
}

Instances::InstanceBackup Instances::get_backup(std::int64_t project_id, const std::string& name, const std::string& backup) {
    const auto where = locate(project_id, name);
    if (backup.empty() || backup.front() == '.' || backup.find('/') != std::string::npos)
        throw Error(404, "Instance backup not found");
    auto b = read_record(backups_dir(daemon_, where), backup);
    if (!b) throw Error(404, "Instance backup not found");
    return *b;
}

std::string Instances::backup_file(std::int64_t project_id, const std::string& name, const std::string& backup) {
    get_backup(project_id, name, backup);
    const auto path = backups_dir(daemon_, locate(project_id, name)) + "/" + backup;
    daemon_.events().lifecycle("instance-backup-retrieved", backup_url(name, backup));
    return path;
}

api::Response Instances::create_backup(std::int64_t project_id, const std::string& name, BackupCreate request) {
    const auto where = locate(project_id, name);
    const auto dir = backups_dir(daemon_, where);
    check_compression(request.compression);
    if (request.optimized_storage)
        throw Error(400, "Optimized storage backups are not supported by lodge yet; export without "
                         "--optimized-storage (the backup then restores on any pool)");
    if (request.name.empty()) {
        // LXD's naming: backup0, backup1, ... above the highest one.
        long next = 0;
        for (const auto& b : backups(project_id, name)) {
            if (b.name.rfind("backup", 0) != 0 || b.name.size() == 6 || b.name.size() > 15) continue;
            const auto digits = b.name.substr(6);
            if (std::all_of(digits.begin(), digits.end(), ::isdigit)) next = std::max(next, std::stol(digits) + 1);
        }
        request.name = "backup" + std::to_string(next);
    }
    check_backup_name(request.name);
    if (is_zero_time(request.expires_at)) {
        request.expires_at = "0001-01-01T00:00:00Z";
    } else {
        api::Time t{};
        if (!api::parse_time(request.expires_at, t))
            throw Error(400, "Invalid expires_at \"" + request.expires_at + "\": use RFC 3339");
    }
    if (::access((dir + "/" + request.name).c_str(), F_OK) == 0)
        throw Error(409, "Backup \"" + request.name + "\" already exists");
    return run_backup_operation(daemon_, "Backing up instance", name, request.name,
                                [this, project_id, where, dir, request](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        if (::access((dir + "/" + request.name).c_str(), F_OK) == 0)
            throw Error(409, "Backup \"" + request.name + "\" already exists");
        const auto instance = get(project_id, where.name);
        const auto snapshots = request.instance_only ? std::vector<api::InstanceSnapshot>{}
                                                     : this->snapshots(project_id, where.name);
        auto& driver = daemon_.pools().driver(where.pool);
        const auto pool = daemon_.with_db([&](db::Database& db) { return db::get_storage_pool(db, where.pool); });

        const auto index_yaml = backup_index_yaml(instance, snapshots, pool, where.pool, driver.spec().driver,
                                                  request.instance_only);

        std::vector<BackupSource> sources;
        for (const auto& s : snapshots)
            sources.push_back({driver.path(where.volume.snapshot_of(s.name)), "backup/snapshots/" + s.name});
        sources.push_back({where.dir, "backup/container"});

        if (!make_dirs(dir, 0700)) ::chmod(dir.c_str(), 0700);
        const auto final_path = dir + "/" + request.name;
        std::string tmp = dir + "/.tmp-XXXXXX";
        UniqueFd out(::mkostemp(tmp.data(), O_CLOEXEC));
        if (!out) throw_errno("create " + tmp);
        Reverter undo;
        undo.add([&] { ::unlink(tmp.c_str()); });
        // A running instance's files are packed under a freeze, so the
        // backup is one moment (as a snapshot on dir is).
        const bool freeze = status(where) == api::StatusCode::Running;
        if (freeze) runtime::freeze_container(run_dir_, where.runtime_name, true);
        {
            Reverter thaw;
            if (freeze) thaw.add([&] { runtime::freeze_container(run_dir_, where.runtime_name, false); });
            pack_backup(index_yaml, sources, request.compression, out.get());
        }
        if (::fsync(out.get()) != 0) throw_errno("sync " + tmp);
        InstanceBackup record;
        record.name = request.name;
        record.created_at = api::format_time(api::now());
        record.expires_at = request.expires_at;
        record.instance_only = request.instance_only;
        record.compression = request.compression.empty() ? "gzip" : request.compression;
        // The record first, then the tarball under its name: a backup
        // counts only when both are there.
        write_record(dir, record);
        undo.add([&] { ::unlink(record_path(dir, request.name).c_str()); });
        if (::rename(tmp.c_str(), final_path.c_str()) != 0) throw_errno("store " + final_path);
        undo.success();
        daemon_.events().lifecycle("instance-backup-created", backup_url(where.name, request.name));
    });
}

api::Response Instances::rename_backup(std::int64_t project_id, const std::string& name, const std::string& backup,
                                       const std::string& new_name) {
    get_backup(project_id, name, backup);
    check_backup_name(new_name);
    const auto where = locate(project_id, name);
    const auto dir = backups_dir(daemon_, where);
    if (::access((dir + "/" + new_name).c_str(), F_OK) == 0)
        throw Error(409, "Backup \"" + new_name + "\" already exists");
    return run_backup_operation(daemon_, "Renaming instance backup", name, "",
                                [this, where, dir, backup, new_name](OperationContext&) {
        auto lock = lock_for(where.name);
        std::lock_guard guard(*lock);
        auto record = read_record(dir, backup);
        if (!record) throw Error(404, "Instance backup not found");
        record->name = new_name;
        write_record(dir, *record);
        if (::rename((dir + "/" + backup).c_str(), (dir + "/" + new_name).c_str()) != 0) {
            ::unlink(record_path(dir, new_name).c_str());
            throw_errno("rename backup " + backup);
        }
        ::unlink(record_path(dir, backup).c_str());
        daemon_.events().lifecycle("instance-backup-renamed", backup_url(where.name, new_name), {{"old_name", backup}});
    });
}

api::Response Instances::remove_backup(std::int64_t project_id, const std::string& name, const std::string& backup) {
    get_backup(project_id, name, backup);
    const auto where = locate(project_id, name);
    const auto dir = backups_dir(daemon_, where);
    return run_backup_operation(daemon_, "Removing instance backup", name, "",
                                [this, where, dir, backup](OperationContext&) {
        // The tarball first: without it the record is a leftover.
        if (::unlink((dir + "/" + backup).c_str()) != 0 && errno != ENOENT) throw_errno("remove backup " + backup);
        ::unlink(record_path(dir, backup).c_str());
        daemon_.events().lifecycle("instance-backup-deleted", backup_url(where.name, backup));
    });
}

void Instances::rename_backups(const std::string& project, const std::string& name, const std::string& new_name) {
    const auto base = daemon_.state_dir() + "/backups/";
    const auto from = base + Pools::disk_name(project, name), to = base + Pools::disk_name(project, new_name);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) throw_errno("rename " + from);
}

void Instances::remove_backups(const std::string& project, const std::string& name) {
    std::error_code ec;
    fs::remove_all(daemon_.state_dir() + "/backups/" + Pools::disk_name(project, name), ec);
}

std::vector<std::string> Instances::remove_backup_leftovers() {
    std::vector<std::string> removed;
    const auto base = daemon_.state_dir() + "/backups";
    std::error_code ec;
    auto remove = [&](const fs::path& p) {
        std::error_code rm;
        fs::remove_all(p, rm);
        if (!rm) removed.push_back(p.string());
    };
    // The backups of instances deleted while a hook could not run go too.
    const auto volumes = daemon_.with_db([](db::Database& db) {
        std::set<std::string> names;
        auto st = db.prepare("SELECT p.name, i.name FROM instances i JOIN projects p ON p.id = i.project_id");
        while (st.step()) names.insert(Pools::disk_name(st.text(0), st.text(1)));
        return names;
    });
    for (const auto& top : fs::directory_iterator(base, ec)) {
        const auto name = top.path().filename().string();
        if (name.rfind(".import-", 0) == 0 || name.rfind(".upload-", 0) == 0 ||
            (name.front() != '.' && !volumes.count(name))) {
            remove(top.path());
            continue;
        }
        if (!top.is_directory()) continue;
        std::error_code inner;
        for (const auto& e : fs::directory_iterator(top.path(), inner)) {
            const auto file = e.path().filename().string();
            if (file.rfind(".tmp-", 0) == 0 || (file.front() == '.' && file.ends_with(".tmp"))) {
                remove(e.path());
            } else if (file.front() == '.' && file.size() > 6 && file.ends_with(".json")) {
                // A record whose tarball never got its name.
                if (!fs::exists(top.path() / file.substr(1, file.size() - 6))) remove(e.path());
            } else if (file.front() != '.' && !fs::exists(top.path() / ("." + file + ".json"))) {
                remove(e.path());
            }
        }
    }
    return removed;
}

std::vector<std::string> Instances::prune_expired_backups() {
    std::vector<std::string> removed;
    const auto now = api::now();
    std::error_code ec;
    for (const auto& top : fs::directory_iterator(daemon_.state_dir() + "/backups", ec)) {
        const auto dir = top.path().string();
        if (top.path().filename().string().front() == '.' || !top.is_directory()) continue;
        std::error_code inner;
        for (const auto& e : fs::directory_iterator(top.path(), inner)) {
            const auto file = e.path().filename().string();
            if (file.front() == '.') continue;
            auto record = read_record(dir, file);
            api::Time expires{};
            if (!record || is_zero_time(record->expires_at) || !api::parse_time(record->expires_at, expires) ||
                expires > now)
                continue;
            if (::unlink(e.path().c_str()) != 0) continue;
            ::unlink(record_path(dir, file).c_str());
            removed.push_back(e.path().string());
        }
    }
    return removed;
}

namespace {

// Everything of an import lives in one directory a restart removes.
std::string make_import_dir(const std::string& state_dir) {
    const auto base = state_dir + "/backups";
    if (!make_dirs(base, 0700)) ::chmod(base.c_str(), 0700);
    std::string work = base + "/.import-XXXXXX";
    if (!::mkdtemp(work.data())) throw_errno("create " + work);
    return work;
}

} // namespace

api::Response Instances::import_backup(std::int64_t project_id, std::string tarball, const std::string& name,
                                       const std::string& pool_override) {
    // Written beside the imports, whose directory takes it over.
    const auto base = daemon_.state_dir() + "/backups";
    if (!make_dirs(base, 0700)) ::chmod(base.c_str(), 0700);
    std::string file = base + "/.upload-XXXXXX";
    UniqueFd fd(::mkostemp(file.data(), O_CLOEXEC));
    if (!fd) throw_errno("create " + file);
    Reverter remove;
    remove.add([file] { ::unlink(file.c_str()); }); // a no-op once the import took it
    write_file_atomic(file, tarball, 0600);
    tarball.clear();
    tarball.shrink_to_fit();
    return import_backup_file(project_id, file, name, pool_override);
}

api::Response Instances::import_backup_file(std::int64_t project_id, const std::string& upload, const std::string& name,
                                            const std::string& pool_override, BackupPrepare prepare) {
    const auto work = make_import_dir(daemon_.state_dir());
    Reverter cleanup;
    cleanup.add([work] {
        std::error_code ec;
        fs::remove_all(work, ec);
    });
    const auto file = work + "/backup.tar";
    check(::rename(upload.c_str(), file.c_str()), "moving " + upload + " to " + file);
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + file);
    const auto limit = daemon_.images().max_unpacked_bytes();
    const auto contents = inspect_backup(fd.get(), limit);
    auto index = parse_backup_index(contents.index_yaml);
    if (contents.optimized || index.optimized)
        throw Error(400, "Optimized storage backups (btrfs send streams) are not supported by lodge yet");
    if (!contents.container) throw Error(400, "The backup has no backup/container/ (the instance's files)");
    for (const auto& s : contents.snapshots)
        if (std::find(index.snapshot_names.begin(), index.snapshot_names.end(), s) == index.snapshot_names.end())
            throw Error(400, "The backup holds snapshot \"" + s + "\" which its index.yaml does not list");
    for (const auto& s : index.snapshot_names)
        if (std::find(contents.snapshots.begin(), contents.snapshots.end(), s) == contents.snapshots.end())
            throw Error(400, "The backup's index.yaml lists snapshot \"" + s + "\" but the backup does not hold it");
    auto& instance = index.instance;
    instance.name = name.empty() ? index.name : name;
    if (!runtime::valid_container_name(instance.name))
        throw Error(400, "Invalid instance name \"" + instance.name +
                             "\": use letters, digits and dashes, at most 63 characters, not starting with a "
                             "digit or a dash");
    // lodged sets volatile keys itself; the base image stays known.
    std::erase_if(instance.config, [](const auto& kv) {
        return kv.first.rfind("volatile.", 0) == 0 && kv.first != "volatile.base_image";
    });
    profiles::validate_config(instance.config, profiles::ConfigScope::instance);

    const auto pool = daemon_.with_db([&](db::Database& db) {
        if (db::instance_id(db, project_id, instance.name))
            throw Error(409, "Instance \"" + instance.name + "\" already exists");
        for (const auto& p : instance.profiles)
            if (!db::get_profile_contents(db, project_id, p))
                throw Error(404, "Profile \"" + p + "\" not found (the backup's instance uses it)");
        std::string pool = pool_override;
        if (pool.empty()) pool = db::storage_pool_id(db, index.pool) ? index.pool : db::profile_root_pool(db, project_id, "default");
        if (pool.empty() || !db::storage_pool_id(db, pool)) throw Error(404, "Storage pool \"" + pool + "\" not found");
        instance.project = db::project_name(db, project_id);
        return pool;
    });
    point_root_disk(instance.devices, pool);
    for (auto& s : index.snapshots) point_root_disk(s.devices, pool);

    reserve(instance.name);
    Reverter unreserve;
    unreserve.add([this, n = instance.name] { release(n); });
    auto response = run_backup_operation(
        daemon_, "Restoring backup", instance.name, "",
        [this, project_id, index, pool, work, file, limit, prepare](OperationContext&) mutable {
            Reverter done;
            done.add([this, work, n = index.instance.name] {
                release(n);
                std::error_code ec;
                fs::remove_all(work, ec);
            });
            const auto& instance = index.instance;
            const auto unpacked = work + "/unpacked";
            if (::mkdir(unpacked.c_str(), 0700) != 0) throw_errno("create " + unpacked);
            {
                UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
                if (!fd) throw_errno("open " + file);
                unpack_backup(fd.get(), unpacked, limit);
            }
            ::unlink(file.c_str());
            if (prepare) prepare(unpacked + "/container/rootfs", index.instance);
            restore_instance(daemon_, project_id, index, pool, unpacked);
            daemon_.events().lifecycle("instance-created", "/1.0/instances/" + instance.name);
        });
    unreserve.success();
    cleanup.success();
    return response;
}

} // namespace lodge::daemon
