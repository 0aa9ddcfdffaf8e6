#include "runtime/inventory.hpp"

#include "common/error.hpp"
#include "common/file.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/config.hpp"
#include "runtime/monitor_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace lodge::runtime {

namespace {

// The cgroup still holds a task in any hierarchy.
bool cgroup_busy(const std::string& name) {
    auto cg = open_cgroup(name);
    if (!cg->exists()) return false;
    for (const auto& dir : cg->paths()) {
        try {
            if (!read_file(dir + "/cgroup.procs").empty()) return true;
        } catch (const Error&) { // gone meanwhile
        }
    }
    return false;
}

} // namespace

ContainerStatus container_status(const std::string& run_dir, const std::string& name) {
    ContainerStatus s;
    s.name = name;
    try {
        auto st = MonitorClient::connect(run_dir, name).call("state");
        s.status = st.value("status", "running");
        s.init_pid = st.value("init_pid", -1);
        s.monitor_pid = st.value("monitor_pid", -1);
        return s;
    } catch (const Error& e) {
        if (e.status() != 404) throw;
    }
    std::string dir = container_run_dir(run_dir, name);
    const bool busy = cgroup_busy(name);
    if (::access(dir.c_str(), F_OK) != 0 && !busy) throw Error(404, "container '" + name + "' not found");
    s.status = busy ? "unsupervised" : "stopped";
    try {
        s.exit = nlohmann::json::parse(read_file(dir + "/exit.json"));
    } catch (const std::exception&) { // no record (never ran, or the monitor was killed)
    }
    return s;
}

std::vector<ContainerStatus> list_containers(const std::string& run_dir) {
    std::vector<ContainerStatus> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(run_dir, ec)) {
        std::string name = e.path().filename();
        if (!e.is_directory() || !valid_container_name(name)) continue;
        out.push_back(container_status(run_dir, name));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

nlohmann::json to_json(const ContainerStatus& s) {
    nlohmann::json j = {{"name", s.name}, {"status", s.status}};
    if (s.init_pid > 0) j["init_pid"] = s.init_pid;
    if (s.monitor_pid > 0) j["monitor_pid"] = s.monitor_pid;
    if (!s.exit.is_null()) j["exit"] = s.exit;
    return j;
}

} // namespace lodge::runtime
