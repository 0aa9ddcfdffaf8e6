// Stop, freeze, usage and forget, for the tool and the daemon alike.
#include "runtime/control.hpp"

#include "common/error.hpp"
#include "runtime/inventory.hpp"
#include "runtime/monitor_client.hpp"

#include <csignal>
#include <filesystem>

namespace lodge::runtime {

nlohmann::json stop_container(const std::string& run_dir, const std::string& name, int timeout_ms, bool force) {
    if (force && container_status(run_dir, name).status == "unsupervised") {
        // Its monitor is gone: kill what is left through the cgroup.
        auto cg = open_cgroup(name);
        cg->kill_all(SIGKILL);
        cg->destroy();
        return {{"clean", false}, {"forced", true}, {"unsupervised", true}};
    }
    return MonitorClient::connect(run_dir, name)
        .call("stop " + std::to_string(timeout_ms) + " " + (force ? "1" : "0"));
}

void freeze_container(const std::string& run_dir, const std::string& name, bool frozen) {
    // The cgroup is acted on directly; the monitor is asked only to make
    // sure the container runs.
    MonitorClient::connect(run_dir, name).call("state");
    open_cgroup(name)->freeze(frozen);
}

Usage container_usage(const std::string& run_dir, const std::string& name) {
    MonitorClient::connect(run_dir, name).call("state");
    return open_cgroup(name)->usage();
}

void forget_container(const std::string& run_dir, const std::string& name) {
    const auto status = container_status(run_dir, name).status;
    if (status != "stopped") throw Error(409, "container '" + name + "' is " + status + "; stop it first");
    std::filesystem::remove_all(container_run_dir(run_dir, name));
}

} // namespace lodge::runtime
