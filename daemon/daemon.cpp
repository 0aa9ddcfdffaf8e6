// Daemon start-up: directories, database, defaults, routes.
#include "daemon/daemon.hpp"

#include "common/certificate.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/db/images.hpp"
#include "daemon/db/operations.hpp"
#include "daemon/db/schema.hpp"
#include "daemon/db/seed.hpp"
#include "daemon/host.hpp"
#include "storage/tree.hpp"

#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#ifndef LODGE_VERSION
#define LODGE_VERSION "0.0.0"
#endif

namespace lodge::daemon {

namespace {

// mkdir that accepts an existing directory; the mode matters only on creation.
void ensure_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
    throw_errno("create " + path);
}

} // namespace

std::string default_state_dir(const char* flag_value) {
    if (flag_value && *flag_value) return flag_value;
    if (const char* env = std::getenv("LODGE_DIR"); env && *env) return env;
    return "/var/lib/lodge";
}

Daemon::Daemon(std::string state_dir, std::string database_path) : state_dir_(std::move(state_dir)) {
    while (state_dir_.size() > 1 && state_dir_.back() == '/') state_dir_.pop_back();
    // 0711: others may traverse to the socket's directory (the socket's own
    // mode and group decide who may connect) but not list the state.
    ensure_dir(state_dir_, 0711);
    ensure_dir(state_dir_ + "/storage-pools", 0711);
    if (database_path.empty()) {
        ensure_dir(state_dir_ + "/database", 0700);
        database_path = state_dir_ + "/database/lodge.db";
    }
    db_ = std::make_unique<db::Database>(database_path);
    const int previous = db::migrate(*db_);
    new_database_ = previous == 0;
    if (previous == 0) {
        // The default pool's directory; the dir storage driver fills it in
        // when it creates volumes.
        ensure_dir(state_dir_ + "/storage-pools/default", 0711);
        db::seed_defaults(*db_, state_dir_);
        spdlog::info("database: new, with the default project, storage pool and profile");
    }
    if (previous < 4) db::seed_baseline_profiles(*db_);
    images_ = std::make_unique<ImageStore>(state_dir_ + "/images");
    pools_ = std::make_unique<Pools>(*this);
    instances_ = std::make_unique<Instances>(*this);
    networks_ = std::make_unique<Networks>(*this);
    const auto known_images = with_db([](db::Database& db) {
        const auto fingerprints = db::image_fingerprints(db);
        return std::set<std::string>(fingerprints.begin(), fingerprints.end());
    });
    for (const auto& path : images_->remove_leftovers(known_images))
        spdlog::warn("image store: removed {}, left by an import that did not finish", path);
    pools_->start();
    remove_vm_import_leftovers();
    for (const auto& path : instances_->remove_backup_leftovers())
        spdlog::warn("backups: removed {}, left by a backup or import that did not finish", path);
    for (const auto& path : instances_->prune_expired_backups()) spdlog::info("backups: removed {}, which expired", path);
    environment_ = probe_host_environment(LODGE_VERSION);
    if (ensure_certificate(certificate_path(), key_path(), CertificateRole::Server))
        spdlog::info("made the server certificate {}", certificate_path());
    environment_.certificate = read_file(certificate_path());
    environment_.certificate_fingerprint = certificate_fingerprint(environment_.certificate);
    // Every operation change is an `operation` event: LXD's client learns
    // that its operation ended only from these.
    for (const auto& id : with_db([](db::Database& db) { return db::fail_interrupted_operations(db); }))
        spdlog::warn("operation {}: marked failed, lodged stopped while it ran", id);
    operations_.set_observer([this](const api::Operation& op) {
        record(op);
        api::Event e;
        e.type = "operation";
        e.timestamp = api::now();
        e.metadata = op;
        e.project = "default";
        events_.publish(e);
    });
    add_all_routes(router_, *this);
}

void Daemon::remove_vm_import_leftovers() {
    ensure_dir(vm_import_dir(), 0700);
    UniqueFd dir(::open(vm_import_dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!dir) throw_errno("opening " + vm_import_dir());
    for (const auto& e : storage::read_dir(dir.get(), vm_import_dir())) {
        const auto path = vm_import_dir() + "/" + e.name;
        storage::remove_tree(path);
        spdlog::warn("vm import: removed {}, left by an import that did not finish", path);
    }
}

void Daemon::record(const api::Operation& op) {
    // Written when an operation starts and when it ends; progress updates
    // in between stay in memory.
    const bool running = op.status_code == api::StatusCode::Running;
    {
        std::lock_guard lock(recorded_mutex_);
        if (running && !recorded_running_.insert(op.id).second) return;
        if (!running) recorded_running_.erase(op.id);
    }
    try {
        with_db([&](db::Database& db) { db::record_operation(db, op); });
    } catch (const std::exception& e) {
        spdlog::error("operation {}: recording it: {}", op.id, e.what());
    }
}

void Daemon::start_networks(bool default_network) {
    // dnsmasq drops to nobody and then reads its hosts directory (changes
    // to it are how static leases reach it): the state directory must let
    // others through, as the 0711 it is made with does.
    struct stat st {};
    if (::stat(state_dir_.c_str(), &st) == 0 && (st.st_mode & 0001) == 0)
        ::chmod(state_dir_.c_str(), (st.st_mode & 07777) | 0111);
    ensure_dir(state_dir_ + "/networks", 0755);
    networks_->start();
    if (new_database_ && default_network) networks_->create_default();
    instances_->resume_devices();
}

void Daemon::start_background_tasks() {
    if (!scheduler_) scheduler_ = std::make_unique<SnapshotScheduler>(*this);
    // After a host boot, not after a restart of lodged alone: instances
    // that kept running under their monitors need nothing.
    if (!autostart_.joinable() && instances_->first_start_since_boot())
        autostart_ = std::jthread([this](std::stop_token stop) { instances_->autostart(stop); });
}

bool Daemon::is_trusted_certificate(const std::string& fingerprint) {
    return with_db([&](db::Database& db) {
        auto st = db.prepare("SELECT 1 FROM certificates WHERE fingerprint = ? AND type = 'client'");
        st.bind(1, fingerprint);
        return st.step();
    });
}

} // namespace lodge::daemon
