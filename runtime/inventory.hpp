// What containers a run directory knows and what state each is in, from
// the monitors that answer and the cgroups that still hold processes: what
// a restarted daemon needs to find its containers again and to refuse to
// start one whose previous init may still be alive.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lodge::runtime {

struct ContainerStatus {
    std::string name;
    // running, frozen: its monitor answers. stopped: no monitor and an empty
    // (or no) cgroup; `exit` holds the record of how it ended, if any.
    // unsupervised: no monitor answers but the cgroup still holds
    // processes (the monitor was killed): it must not be started again
    // until they are gone.
    std::string status;
    pid_t init_pid = -1;
    pid_t monitor_pid = -1;
    nlohmann::json exit; // null when there is no record
};

ContainerStatus container_status(const std::string& run_dir, const std::string& name);

// Every container with a directory under run_dir, sorted by name.
std::vector<ContainerStatus> list_containers(const std::string& run_dir);

nlohmann::json to_json(const ContainerStatus& s);

} // namespace lodge::runtime
