// GET /1.0/instances/{name}/state: what the runtime and the container's
// cgroup say about a instance right now.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "runtime/control.hpp"
#include "runtime/inventory.hpp"
#include "daemon/instances/readiness.hpp"

#include <chrono>
#include <thread>

namespace lodge::daemon {

nlohmann::json Instances::state(const InstanceLocation& where) const {
    const auto st = runtime_status(where.runtime_name);
    api::StatusCode code = api::StatusCode::Stopped;
    if (st.status == "frozen") code = api::StatusCode::Frozen;
    if (st.status == "running" || st.status == "unsupervised") code = api::StatusCode::Running;
    runtime::Usage usage;
    if (code != api::StatusCode::Stopped) {
        try {
            usage = runtime::container_usage(run_dir_, where.runtime_name);
        } catch (const Error&) {
            // It stopped between the two questions; report it as it was.
        }
    }
    return {{"status", std::string(api::status_name(code))},
            {"status_code", static_cast<int>(code)},
            {"disk", nlohmann::json::object()},
            {"memory",
             {{"usage", usage.memory_bytes},
              {"usage_peak", usage.memory_peak_bytes},
              {"swap_usage", 0},
              {"swap_usage_peak", 0}}},
            {"network", code == api::StatusCode::Stopped ? nlohmann::json(nullptr) : network_state(where, st.init_pid)},
            {"pid", code == api::StatusCode::Stopped ? 0 : st.init_pid},
            {"processes", usage.pids},
            {"cpu", {{"usage", usage.cpu_ns}}},
            // lodge's own (API extension lodge_instance_ready).
            {"guest_state", code == api::StatusCode::Stopped ? "stopped" : guest_state(where.runtime_name, st.init_pid)}};
}

std::string Instances::guest_state(const std::string& runtime_name, pid_t init_pid) const {
    {
        std::lock_guard lock(ready_mutex_);
        auto it = ready_.find(runtime_name);
        if (it != ready_.end() && it->second.first == init_pid) return it->second.second;
    }
    const auto state = to_string(guest_readiness(init_pid));
    if (state == "ready" || state == "degraded") {
        std::lock_guard lock(ready_mutex_);
        ready_[runtime_name] = {init_pid, state};
    }
    return state;
}

void Instances::wait_ready(const InstanceLocation& where, int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    // Non-systemd guests must look idle several times in a row: a shell
    // script between two commands looks idle for a moment.
    int idle_in_a_row = 0;
    std::string last = "booting";
    while (std::chrono::steady_clock::now() < deadline) {
        const auto st = runtime_status(where.runtime_name);
        if (st.status == "stopped") throw Error(500, "Instance " + where.name + " stopped while it was booting");
        if (st.init_pid > 0) {
            last = to_string(guest_readiness(st.init_pid));
            if (last == "ready" || last == "degraded") {
                if (asks_systemd(st.init_pid) || ++idle_in_a_row >= 3) {
                    std::lock_guard lock(ready_mutex_);
                    ready_[where.runtime_name] = {st.init_pid, last};
                    return;
                }
            } else {
                idle_in_a_row = 0;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(504, "Instance " + where.name + " did not finish booting within " + std::to_string(timeout_s) +
                         " s (its guest is " + last + ")");
}

} // namespace lodge::daemon
