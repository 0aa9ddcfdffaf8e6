// GET /1.0/instances/{name}/state: what the runtime and the container's
// cgroup say about a instance right now.
#include "daemon/instances/instances.hpp"

#include "common/error.hpp"
#include "runtime/control.hpp"
#include "runtime/inventory.hpp"

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
            // Interfaces and addresses come with managed networks; until
            // then the container has only its loopback, which LXD's
            // clients do not need to be told about.
            {"network", nullptr},
            {"pid", code == api::StatusCode::Stopped ? 0 : st.init_pid},
            {"processes", usage.pids},
            {"cpu", {{"usage", usage.cpu_ns}}}};
}

} // namespace lodge::daemon
