// GET /1.0/metrics: Prometheus text with each running instance's cpu,
// memory and processes from its cgroup, and lodged's own figures.
#include "common/file.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/instances.hpp"
#include "runtime/control.hpp"

#include <unistd.h>

#include <sstream>

namespace lodge::daemon {

namespace {

std::string labels(const std::string& name, const std::string& project) {
    return "{name=\"" + name + "\",project=\"" + project + "\",type=\"container\"}";
}

// VmRSS of /proc/self/status, in bytes.
std::uint64_t own_rss() {
    const auto status = read_file_if_exists("/proc/self/status");
    const auto at = status.find("VmRSS:");
    if (at == std::string::npos) return 0;
    return std::stoull(status.substr(at + 6)) * 1024;
}

HttpResponse metrics(Daemon& daemon, const Request& request) {
    const auto project_id = daemon.with_db([&](db::Database& db) { return request_project_id(db, request); });
    const auto project = request.query_value("project", "default");
    auto names = daemon.with_db([&](db::Database& db) { return db::instance_names(db, project_id); });
    std::ostringstream cpu, mem, peak, procs;
    std::map<std::string, int> by_status;
    for (const auto& name : names) {
        const auto where = daemon.instances().locate(project_id, name);
        const auto status = daemon.instances().status(where);
        ++by_status[std::string(api::status_name(status))];
        if (status == api::StatusCode::Stopped) continue;
        runtime::Usage u;
        try {
            u = runtime::container_usage(daemon.instances().run_dir(), where.runtime_name);
        } catch (const std::exception&) {
            continue; // stopped meanwhile
        }
        const auto l = labels(name, project);
        cpu << "lodge_instance_cpu_seconds_total" << l << " " << static_cast<double>(u.cpu_ns) / 1e9 << "\n";
        mem << "lodge_instance_memory_bytes" << l << " " << u.memory_bytes << "\n";
        peak << "lodge_instance_memory_peak_bytes" << l << " " << u.memory_peak_bytes << "\n";
        procs << "lodge_instance_processes" << l << " " << u.pids << "\n";
    }
    std::ostringstream out;
    out << "# HELP lodge_instance_cpu_seconds_total CPU time used by the instance's processes.\n"
        << "# TYPE lodge_instance_cpu_seconds_total counter\n" << cpu.str()
        << "# HELP lodge_instance_memory_bytes Memory used by the instance (its cgroup).\n"
        << "# TYPE lodge_instance_memory_bytes gauge\n" << mem.str()
        << "# HELP lodge_instance_memory_peak_bytes Highest memory use of the instance.\n"
        << "# TYPE lodge_instance_memory_peak_bytes gauge\n" << peak.str()
        << "# HELP lodge_instance_processes Processes in the instance.\n"
        << "# TYPE lodge_instance_processes gauge\n" << procs.str()
        << "# HELP lodge_instances Instances by status.\n# TYPE lodge_instances gauge\n";
    for (const auto& s : {"Running", "Frozen", "Stopped"})
        out << "lodge_instances{status=\"" << s << "\"} " << by_status[s] << "\n";
    out << "# HELP lodge_daemon_resident_bytes Resident memory of lodged.\n"
        << "# TYPE lodge_daemon_resident_bytes gauge\nlodge_daemon_resident_bytes " << own_rss() << "\n"
        << "# HELP lodge_daemon_operations Operations lodged holds, by status.\n"
        << "# TYPE lodge_daemon_operations gauge\n";
    std::map<std::string, int> ops;
    for (const auto& op : daemon.operations().list()) ++ops[std::string(api::status_name(op.status_code))];
    for (const auto& [status, n] : ops) out << "lodge_daemon_operations{status=\"" << status << "\"} " << n << "\n";
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = out.str();
    return r;
}

} // namespace

void add_metrics_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/metrics", [&daemon](Request& r) -> Reply { return metrics(daemon, r); });
}

} // namespace lodge::daemon
