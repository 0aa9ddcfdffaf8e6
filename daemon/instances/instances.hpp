// Instances as lodged manages them: where each lives on disk, which runtime
// container backs it, and the lifecycle (create, start, stop, delete) that
// the API's handlers and operations call. The runtime (runtime/) does the
// containers; this joins it to the database, the storage pool and events.
#pragma once

#include "api/status.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace lodge::daemon {

class Daemon;

// Where an instance is and what backs it.
struct InstanceLocation {
    std::int64_t id = 0;
    std::string name;         // the API's name
    std::string project;
    std::string runtime_name; // the runtime's container name (the API name in the default project)
    std::string dir;          // <pool source>/containers/<name>
    std::string rootfs;       // dir + "/rootfs"
};

class Instances {
public:
    explicit Instances(Daemon& daemon);

    // Where the runtime keeps running containers: <state dir>/run, so that
    // daemons on different state directories never see each other's.
    const std::string& run_dir() const { return run_dir_; }

    // Error(404) "Instance not found" when the project has no such instance.
    InstanceLocation locate(std::int64_t project_id, const std::string& name);

    // Running, Frozen or Stopped, from the runtime (a container whose
    // monitor was killed but whose processes live counts as Running).
    api::StatusCode status(const InstanceLocation& where) const;

    // Error(400) "Instance is not running" unless it runs (frozen counts).
    void require_running(const InstanceLocation& where) const;

private:
    Daemon& daemon_;
    std::string run_dir_;
};

} // namespace lodge::daemon
