// backup/index.yaml: written as LXD 5.0 writes it (lxd/backup.go
// backupWriteIndex, with the instance, its snapshots, pool and volume under
// config:), and read back from untrusted uploads, checked.
#pragma once

#include "api/instance.hpp"
#include "api/storage_pool.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon {

struct BackupIndex {
    std::string name, pool, backend;
    bool optimized = false;
    std::vector<std::string> snapshot_names; // oldest first
    api::Instance instance;                  // config.container
    std::vector<api::InstanceSnapshot> snapshots; // config.snapshots, in snapshot_names' order
};

// The text of index.yaml for an instance (in its project) on pool, with
// the given snapshots; instance_only leaves the snapshots list out.
std::string backup_index_yaml(const api::Instance& instance, const std::vector<api::InstanceSnapshot>& snapshots,
                              const std::optional<api::StoragePool>& pool, const std::string& pool_name,
                              const std::string& backend, bool instance_only);

// Error(400) for YAML that is not an index of a container backup, invalid
// snapshot names, or a snapshots list that names snapshots twice. The
// instance name is not checked here (an upload may rename it).
BackupIndex parse_backup_index(const std::string& yaml);

} // namespace lodge::daemon
