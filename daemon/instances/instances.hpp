// Instances as lodged manages them: where each lives on disk, which runtime
// container backs it, and the lifecycle (create, start, stop, delete) that
// the API's handlers and operations call. The runtime (runtime/) does the
// containers; this joins it to the database, the storage pool and events.
#pragma once

#include "common/reverter.hpp"

#include "api/instance.hpp"
#include "profiles/baseline.hpp"
#include "daemon/api/images_pull.hpp"
#include "api/response.hpp"
#include "api/status.hpp"
#include "api/time.hpp"
#include "runtime/config.hpp"
#include "runtime/inventory.hpp"
#include "storage/driver.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

namespace lodge::daemon {

class Daemon;

// POST /1.0/instances (shared/api/instance.go InstancesPost), the parts
// lodged acts on.
struct InstanceCreate {
    api::Instance instance;  // name, description, config, devices, profiles, ephemeral
    std::string source_type; // "image", "copy" or "none"
    std::string image;       // alias or fingerprint (source.alias / source.fingerprint)
    std::optional<RemoteImageSource> remote; // source.server: pulled into the store first
    // "copy": the instance or "instance/snapshot" copied (source.source);
    // config, devices and profiles the request leaves out are the source's.
    std::string copy_source;
    bool instance_only = false; // copy without the source's snapshots
    bool config_given = false, devices_given = false, profiles_given = false;
    std::vector<api::InstanceSnapshot> copy_snapshots; // filled by create()
};

// PUT /1.0/instances/{name}/state.
struct StateChange {
    std::string action; // start, stop, restart, freeze, unfreeze
    int timeout = -1;   // seconds; -1: as long as it takes (capped, then killed)
    bool force = false;
    // lodge's own (API extension lodge_instance_ready): the start or restart
    // operation ends only once the guest reports it has booted.
    bool wait_ready = false;
    int ready_timeout = 300; // seconds
};

// POST /1.0/instances/{name}/snapshots.
struct SnapshotCreate {
    std::string name;       // empty: the next name snapshots.pattern gives
    std::string expires_at; // RFC 3339; empty: from snapshots.expiry, else never
};

// Where an instance is and what backs it.
struct InstanceLocation {
    std::int64_t id = 0;
    std::string name;         // the API's name
    std::string project;
    std::string runtime_name; // the runtime's container name (the API name in the default project)
    std::string pool;         // the storage pool of its root volume
    storage::Volume volume;   // the root volume on that pool
    std::string dir;          // where the volume is: rootfs/, metadata.yaml, templates/
    std::string rootfs;       // dir + "/rootfs"
    std::string logs;         // <state dir>/logs/<name>: exec's recorded output
};

class Instances {
public:
    explicit Instances(Daemon& daemon);

    // Where the runtime keeps running containers: <state dir>/run, so that
    // daemons on different state directories never see each other's.
    const std::string& run_dir() const { return run_dir_; }

    // Where exec's recorded output of an instance goes.
    std::string logs_dir(const std::string& project, const std::string& name) const;

    // Error(404) "Instance not found" when the project has no such instance.
    InstanceLocation locate(std::int64_t project_id, const std::string& name);

    // Running, Frozen or Stopped, from the runtime (a container whose
    // monitor was killed but whose processes live counts as Running).
    api::StatusCode status(const InstanceLocation& where) const;

    // Error(400) "Instance is not running" unless it runs (frozen counts).
    void require_running(const InstanceLocation& where) const;

    // The object as GET answers it: stored fields plus the live status.
    api::Instance get(std::int64_t project_id, const std::string& name);
    // GET /1.0/instances/{name}/state: status, pid, cpu, memory, processes.
    nlohmann::json state(const InstanceLocation& where) const;

    // The checks that can be answered at once (bad name, taken name, unknown
    // profile, image or config key) throw here, before any operation; then
    // each returns the operation's async answer. The work runs on the
    // operations pool and emits the lifecycle events LXD emits.
    api::Response create(std::int64_t project_id, InstanceCreate request);
    api::Response change_state(std::int64_t project_id, const std::string& name, const StateChange& change);
    api::Response remove(std::int64_t project_id, const std::string& name);
    api::Response rename(std::int64_t project_id, const std::string& name, const std::string& new_name);
    // PUT (replace) and PATCH (merge) of description, config, devices,
    // profiles and ephemeral. volatile.* keys sent back by clients are
    // ignored: they are lodged's own.
    // Returns whether the running instance needs a restart for part of the
    // change (what could be applied live has been).
    bool update(std::int64_t project_id, const std::string& name, const nlohmann::json& body, bool merge);

    // After a profile's config or devices changed (instances/live.cpp):
    // every running instance using it gets the change at once where it can
    // (limits, devices). Returns the running instances that need a restart
    // for the rest (security.*, raw.idmap), for the caller to report.
    std::vector<std::string> profile_changed(std::int64_t project_id, const std::string& profile);

    // Snapshots (instances/snapshots.cpp). A snapshot of a running instance
    // is consistent: atomic on btrfs, taken with the container frozen on dir.
    api::Response snapshot(std::int64_t project_id, const std::string& name, SnapshotCreate request);
    std::vector<api::InstanceSnapshot> snapshots(std::int64_t project_id, const std::string& name);
    std::vector<api::InstanceSnapshot> snapshots(const InstanceLocation& where);
    api::InstanceSnapshot get_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap);
    api::Response remove_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap);
    api::Response rename_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap,
                                  const std::string& new_name);
    // PUT/PATCH: description and expires_at.
    api::Response update_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap,
                                  const nlohmann::json& body);
    // The instance's files, config, devices and profiles become the
    // snapshot's; a running instance is stopped first and started again.
    api::Response restore(std::int64_t project_id, const std::string& name, const std::string& snap);
    // For the scheduler: a snapshot named by snapshots.pattern with
    // snapshots.expiry, when the instance runs or snapshots.schedule.stopped
    // is true; and the removal of one that expired.
    void scheduled_snapshot(std::int64_t project_id, const std::string& name);
    void expire_snapshot(std::int64_t project_id, const std::string& name, const std::string& snap);
    // The work of snapshot() and remove_snapshot(); the caller holds the instance's lock.
    void take_snapshot(const InstanceLocation& where, const std::string& snap, const std::string& expires_at);
    void drop_snapshot(const InstanceLocation& where, const std::string& snap);

    // --- Backups (instances/backups.cpp, instances/backup_archive.cpp) ---
    // LXD's instance backups: tarballs with backup/index.yaml kept under
    // <state>/backups/<volume name>/<backup>, and instances made from them.
    // POST /1.0/instances/{name}/backups (shared/api/instance_backup.go).
    struct BackupCreate {
        std::string name;        // empty: backup0, backup1, ...
        std::string expires_at;  // RFC 3339; empty or zero time: never
        bool instance_only = false;
        bool optimized_storage = false;
        std::string compression; // one of compression_names(); empty: gzip
    };
    // What GET .../backups/{name} answers (api.InstanceBackup).
    struct InstanceBackup {
        std::string name;
        std::string created_at;
        std::string expires_at = "0001-01-01T00:00:00Z";
        bool instance_only = false;
        bool optimized_storage = false;
        std::string compression;
    };
    static nlohmann::json backup_json(const InstanceBackup& backup);
    api::Response create_backup(std::int64_t project_id, const std::string& name, BackupCreate request);
    std::vector<InstanceBackup> backups(std::int64_t project_id, const std::string& name);
    std::vector<InstanceBackup> backups(const InstanceLocation& where);
    InstanceBackup get_backup(std::int64_t project_id, const std::string& name, const std::string& backup);
    api::Response rename_backup(std::int64_t project_id, const std::string& name, const std::string& backup,
                                const std::string& new_name);
    api::Response remove_backup(std::int64_t project_id, const std::string& name, const std::string& backup);
    // The tarball's path, for GET .../export.
    std::string backup_file(std::int64_t project_id, const std::string& name, const std::string& backup);
    // POST /1.0/instances with a backup tarball as the body (untrusted):
    // checked, unpacked under <state>/backups/.import-*, made into volumes
    // and rows, all or nothing. name/pool override the index's when set.
    api::Response import_backup(std::int64_t project_id, std::string tarball, const std::string& name,
                                const std::string& pool);
    // The same for a tarball the server kept in a file (moved into the
    // import's directory). `prepare` runs on the unpacked instance before
    // its volume and rows are made: `lodge migrate` fixes the tree up there
    // and names its OS in the config.
    using BackupPrepare = std::function<void(const std::string& rootfs, api::Instance& instance)>;
    api::Response import_backup_file(std::int64_t project_id, const std::string& file, const std::string& name,
                                     const std::string& pool, BackupPrepare prepare = {});
    // Lifecycle hooks: an instance's backups follow its rename and go with it.
    void rename_backups(const std::string& project, const std::string& name, const std::string& new_name);
    void remove_backups(const std::string& project, const std::string& name);
    // At start: removes imports a kill interrupted (<state>/backups/.import-*)
    // and half-written backups; returns what it removed, for the log.
    std::vector<std::string> remove_backup_leftovers();
    // Removes backups whose expires_at has passed (lxc export asks for a
    // day), as LXD's hourly task does; returns their paths. Run at start;
    // the scheduler may call it too.
    std::vector<std::string> prune_expired_backups();
    // --- end of backups ---

    // The host's boot (instances/boot.cpp). first_start_since_boot() is
    // true once per host boot (lodged keeps the boot id it last ran under);
    // autostart() then starts what boot.autostart (or, unset, the state
    // the host's shutdown left) asks for. shutdown_all() stops every
    // running instance for the host's shutdown.
    bool first_start_since_boot();
    void autostart(std::stop_token stop);
    void shutdown_all();

    // For lodge audit (instances/live.cpp, instances/audit.cpp): whether
    // config changed since the start waits for a restart, and how the
    // running container's kernel state differs from what its config says.
    bool restart_pending(const InstanceLocation& where, const api::Instance& instance) const;
    std::vector<profiles::Finding> kernel_drift(const InstanceLocation& where, const api::Instance& instance) const;
    // What the runtime is given to start the instance (exposed for tests).
    runtime::ContainerConfig container_config(const api::Instance& instance, const InstanceLocation& where) const;

    // After lodged's start (instances/network_devices.cpp): the running
    // instances' proxies that are not running any more are started again.
    void resume_devices();

    // A nic as it is plugged: the device's keys resolved (the guest's
    // interface name, the bridge, the MAC kept in volatile.DEV.hwaddr).
    struct Nic {
        std::string name, nictype, network, bridge, parent, hwaddr, host_name, ipv4, mode, ingress, egress;
        unsigned mtu = 0;
        bool same_device(const Nic& o) const; // all but host_name
    };
    struct ProxyDevice {
        std::string listen, connect;
    };
    struct NetworkDevices {
        std::map<std::string, Nic> nics;
        std::map<std::string, ProxyDevice> proxies;
    };

    // A free two-word name for an instance created without one.
    static std::string pick_name(const std::function<bool(const std::string&)>& taken);

private:
    // The runtime's view; a container the runtime has never seen is stopped.
    runtime::ContainerStatus runtime_status(const std::string& runtime_name) const;
    // Drops the runtime's record of a stopped container, if it has one.
    void forget(const std::string& runtime_name) const;
    // One lifecycle action at a time per instance.
    std::shared_ptr<std::mutex> lock_for(const std::string& name);
    void reserve(const std::string& name);
    void release(const std::string& name);
    void start_now(std::int64_t project_id, const InstanceLocation& where);
    // Waits until the guest has booted; Error(504) after timeout_s.
    void wait_ready(const InstanceLocation& where, int timeout_s);
    // The guest's readiness now; "ready" answers are remembered per init
    // pid, since a booted guest stays booted until it stops.
    std::string guest_state(const std::string& runtime_name, pid_t init_pid) const;
    void stop_now(const InstanceLocation& where, int timeout, bool force);
    // Before a start (instances/live.cpp): gives an isolated instance its
    // own host id range once (volatile.idmap.base, kept across restarts)
    // and records the map it runs with (volatile.idmap.current).
    void assign_idmap(const InstanceLocation& where, api::Instance& instance);
    // Applies what can change under a running container (cgroup limits,
    // devices) from the instance's current expanded config; returns
    // whether something else differs from what it was started with.
    bool apply_live(const InstanceLocation& where, const api::Instance& instance);
    // The runtime's record of the running container (config.json in its run
    // directory, kept in step by hot-plug); nullopt when it cannot be read.
    std::optional<runtime::ContainerConfig> running_config(const InstanceLocation& where) const;
    // What apply_live compares against: the expanded config of this start.
    void record_started_config(const InstanceLocation& where, const api::Instance& instance) const;

    // nic and proxy devices (instances/network_devices.cpp).
    std::map<std::string, Nic> nic_plan(const InstanceLocation& where, api::Instance& instance);
    static std::map<std::string, ProxyDevice> proxy_plan(const api::Instance& instance);
    // The host side of a nic; returns the name of the end that goes in.
    std::string plug_host_side(const InstanceLocation& where, const Nic& nic);
    void unplug_host_side(const InstanceLocation& where, const Nic& nic);
    // Before a start: the host sides made, what the runtime moves in.
    std::vector<runtime::NetInterface> plug_network_devices(const InstanceLocation& where, api::Instance& instance,
                                                            Reverter& revert);
    void start_proxies(const InstanceLocation& where, pid_t init_pid);
    // After a stop: proxies ended, host sides removed.
    void unplug_network_devices(const InstanceLocation& where);
    // Hot-plug: the running instance's nics and proxies made to match;
    // returns whether anything changed.
    bool apply_network_devices(const InstanceLocation& where, api::Instance& instance, pid_t init_pid);
    void start_proxy(const InstanceLocation& where, const std::string& dev, const ProxyDevice& proxy, pid_t init_pid);
    void stop_proxy(const InstanceLocation& where, const std::string& dev);
    std::string proxy_pidfile(const InstanceLocation& where, const std::string& dev) const;
    std::string network_devices_path(const InstanceLocation& where) const;
    NetworkDevices running_network_devices(const InstanceLocation& where) const;
    void record_network_devices(const InstanceLocation& where, const NetworkDevices& devices) const;
    // The state's "network": the container's interfaces, seen from inside.
    nlohmann::json network_state(const InstanceLocation& where, pid_t init_pid) const;

    Daemon& daemon_;
    std::string run_dir_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<std::mutex>> locks_;
    std::set<std::string> reserved_; // names being created or renamed to
    std::mutex idmap_mutex_;         // one isolated range given out at a time
    mutable std::mutex ready_mutex_;
    mutable std::map<std::string, std::pair<pid_t, std::string>> ready_; // runtime name -> (init pid, state)
};

// A snapshot name a client may give: not empty, no "/", not "." or "..",
// no white space. Error(400) otherwise.
void check_snapshot_name(const std::string& name);

// The next snapshot name snapshots.pattern gives ("snap%d" by default: the
// lowest %d above every existing match).
std::string next_snapshot_name(const std::string& pattern, const std::vector<std::string>& existing);

// A new instance's rows in one transaction: the instance (given its
// volatile identity and creation time here), its root volume on `pool` and
// its snapshots. Its files are on the pool already.
void record_new_instance(Daemon& daemon, std::int64_t project_id, api::Instance& instance, const std::string& pool,
                         const std::vector<api::InstanceSnapshot>& snapshots);

// Writes name into the guest's /etc/hostname when the image has that file.
void write_guest_hostname(const std::string& rootfs, const std::string& name);


} // namespace lodge::daemon
