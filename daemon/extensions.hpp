// The API extensions GET /1.0 advertises. Clients switch behaviour on these
// names, so an entry goes here only when what it promises works end to end;
// each line says what of lodged backs it.
#pragma once

#include <string>
#include <vector>

namespace lodge::daemon {

inline const std::vector<std::string>& api_extensions() {
    static const std::vector<std::string> list{
        "entity_description",               // description on profiles, pools, projects
        "profile_usedby",                   // used_by on profiles
        "storage",                          // /1.0/storage-pools: pools and their volumes
        "storage_api_volume_rename",        // POST on a custom volume renames it
        "storage_api_volume_snapshots",     // custom volumes' snapshots
        "custom_volume_snapshot_expiry",    // expires_at on them
        "storage_api_local_volume_handling", // volumes of a pool listed with their types
        "storage_volume_state",             // GET .../volumes/{type}/{name}/state: bytes used
        "storage_volume_state_total",       // and the size limit (-1: none)
        "snapshot_scheduling",              // snapshots.schedule (cron), snapshots.pattern
        "snapshot_schedule_aliases",        // @hourly, @daily ... in snapshots.schedule
        "snapshot_expiry",                  // snapshots.expiry, expires_at on snapshots
        "snapshot_expiry_creation",         // expires_at when creating a snapshot
        "container_only_migration",         // instance_only on copies
        "container_stateless_copy",         // copies from an instance or snapshot (source type copy)
        "projects",                         // /1.0/projects (the default project)
        "kernel_features",                  // environment.kernel_features
        "api_os",                           // environment.os_name and os_version
        "server_supported_storage_drivers", // environment.storage_supported_drivers
        "instances",                        // the /1.0/instances tree
        "api_filtering",                    // ?filter= on /1.0/instances
        "container_full",                   // recursion=2 on /1.0/instances
        "instance_get_full",                // recursion=1 on /1.0/instances/{name}
        "container_last_used_at",           // last_used_at on instances
        "resources",                        // /1.0/resources (cpu, memory, system)
        "resources_v2",                     // its sockets/cores/threads layout
        "metrics",                          // /1.0/metrics (Prometheus text)
        "lodge_instance_ready",             // lodge's own: guest_state in the state, "wait" on start
        "operation_description",            // description on operations
        "event_lifecycle",                  // lifecycle events on /1.0/events
        "event_location",                   // events carry location
        "event_project",                    // events carry project
        "container_exec_recording",         // exec record-output, /1.0/instances/NAME/logs/exec_*
        "container_exec_signal_handling",   // exec's control websocket forwards signals
        "container_exec_user_group_cwd",    // exec's user, group and cwd
        "file_delete",                      // DELETE /1.0/instances/NAME/files
        "file_append",                      // X-LXD-write: append
        "directory_manipulation",           // X-LXD-type: directory (push -r, push -p)
        "file_symlinks",                    // X-LXD-type: symlink
        "console",                          // /1.0/instances/NAME/console: attach (websocket) and log
        "certificate_update",               // PUT/PATCH /1.0/certificates/{fingerprint}
        "certificate_token",                // trust tokens: POST /1.0/certificates {"token": true}
        "remote_token_expiry",              // core.remote_token_expiry, expires_at in tokens
        "image_compression_algorithm",      // compression_algorithm when publishing (gzip, bzip2, xz, zstd, none)
        "image_create_aliases",             // aliases in POST /1.0/images (publish)
        "container_backup",                 // /1.0/instances/NAME/backups, lxc export/import
        "backup_compression",               // compression_algorithm on backups
        "backup_compression_algorithm",     // gzip, bzip2, xz, zstd, none
        "container_backup_override_pool",   // X-LXD-pool on a backup upload
        "backup_override_name",             // X-LXD-name on a backup upload
        "container_syscall_filtering",      // security.syscalls.deny/allow/deny_default/deny_compat
        "id_map",                           // security.idmap.isolated, security.idmap.size, raw.idmap
        "id_map_base",                      // security.idmap.base
        "id_map_current",                   // volatile.idmap.current
        "container_host_shutdown_timeout",  // boot.host_shutdown_timeout
        "container_stop_priority",          // boot.stop.priority
        "lodge_audit",                      // lodge's own: GET /1.0/instances/NAME/audit
        "lodge_image_import_vm",            // lodge's own: POST /1.0/images with X-Lodge-VM-Disk
        "network",                          // /1.0/networks: managed bridges, nic devices
        "network_leases",                   // GET /1.0/networks/NAME/leases
        "network_state",                    // GET /1.0/networks/NAME/state
        "network_hwaddr",                   // bridge.hwaddr
        "instance_nic_network",             // nic devices with network=NAME
        "network_state_bond_bridge",        // bridge details in the network state
        "proxy",                            // proxy devices (tcp, udp, unix; listen on the host)
        "proxy_unix",                       // unix sockets on either side of a proxy
        "proxy_udp",                        // udp on both sides of a proxy
    };
    return list;
}

} // namespace lodge::daemon
