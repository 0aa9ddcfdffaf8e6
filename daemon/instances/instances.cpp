// Instances: locating them on disk and asking the runtime how they are.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "daemon/db/storage_volumes.hpp"
#include "runtime/inventory.hpp"
#include "runtime/monitor_client.hpp"

#include <filesystem>

#include <unistd.h>

namespace lodge::daemon {

Instances::Instances(Daemon& daemon) : daemon_(daemon), run_dir_(daemon.state_dir() + "/run") {}

std::string Instances::logs_dir(const std::string& project, const std::string& name) const {
    return daemon_.state_dir() + "/logs/" + (project == "default" ? "" : project + "_") + name;
}

InstanceLocation Instances::locate(std::int64_t project_id, const std::string& name) {
    InstanceLocation where = daemon_.with_db([&](db::Database& db) {
        auto instance = db::get_instance(db, project_id, name);
        if (!instance) throw Error(404, "Instance not found");
        InstanceLocation w;
        w.id = *db::instance_id(db, project_id, name);
        w.name = name;
        w.project = instance->project;
        w.runtime_name = name;
        auto pool = db::instance_volume_pool(db, project_id, name);
        if (!pool) throw Error(500, "Instance " + name + ": it has no root volume on any storage pool");
        w.pool = *pool;
        return w;
    });
    auto& driver = daemon_.pools().driver(where.pool);
    where.volume = {storage::VolumeType::Container, Pools::disk_name(where.project, name), {}};
    where.dir = driver.path(where.volume);
    where.rootfs = where.dir + "/rootfs";
    where.logs = logs_dir(where.project, name);
    return where;
}

runtime::ContainerStatus Instances::runtime_status(const std::string& runtime_name) const {
    // Every start makes the container's run directory and only a stopped
    // container's is removed, so without one there is nothing to ask
    // (this keeps lists of thousands of stopped instances cheap).
    if (::access(runtime::container_run_dir(run_dir_, runtime_name).c_str(), F_OK) != 0) {
        runtime::ContainerStatus s;
        s.name = runtime_name;
        s.status = "stopped";
        return s;
    }
    try {
        return runtime::container_status(run_dir_, runtime_name);
    } catch (const Error& e) {
        if (e.status() != 404) throw;
        runtime::ContainerStatus s;
        s.name = runtime_name;
        s.status = "stopped";
        return s;
    }
}

void Instances::forget(const std::string& runtime_name) const {
    if (runtime_status(runtime_name).status != "stopped") throw Error(400, "Instance is running");
    std::error_code ec;
    std::filesystem::remove_all(runtime::container_run_dir(run_dir_, runtime_name), ec);
}

api::StatusCode Instances::status(const InstanceLocation& where) const {
    const auto s = runtime_status(where.runtime_name).status;
    if (s == "frozen") return api::StatusCode::Frozen;
    if (s == "running" || s == "unsupervised") return api::StatusCode::Running;
    return api::StatusCode::Stopped;
}

void Instances::require_running(const InstanceLocation& where) const {
    if (status(where) == api::StatusCode::Stopped) throw Error(400, "Instance is not running");
}

} // namespace lodge::daemon
