// Acting on a running container from outside: stop, freeze, usage, and
// forgetting a stopped one. lodge-runtime and lodged both go through here.
#pragma once

#include "runtime/cgroup.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::runtime {

// Asks init to halt (its halt signal), waits up to timeout_ms, then kills;
// force kills at once (also a frozen container). A container whose monitor
// is gone (unsupervised) is killed through its cgroup when forced. Returns
// the monitor's report ({"clean": bool, "forced": bool, ...}). Error(404)
// when it does not run.
nlohmann::json stop_container(const std::string& run_dir, const std::string& name, int timeout_ms, bool force);

// Freezes or thaws every process of the container. Error(404) when it does not run.
void freeze_container(const std::string& run_dir, const std::string& name, bool frozen);

// Memory, cpu and pids of the container's cgroup. Error(404) when it does not run.
Usage container_usage(const std::string& run_dir, const std::string& name);

// Removes what the run directory keeps of a stopped container (its exit
// record, console log). Error(409) unless it is stopped.
void forget_container(const std::string& run_dir, const std::string& name);

} // namespace lodge::runtime
