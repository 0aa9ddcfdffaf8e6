// Limits as JSON, as the monitor's config.json and the daemon's audit carry
// them: unset fields are absent, so "no limit" is never a magic number.
#include "runtime/cgroup.hpp"

#include <nlohmann/json.hpp>

namespace lodge::runtime {

namespace {

template <typename T>
void opt_to_json(nlohmann::json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}

template <typename T>
void opt_from_json(const nlohmann::json& j, const char* key, std::optional<T>& v) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) v = it->get<T>();
}

} // namespace

void to_json(nlohmann::json& j, const Limits& l) {
    j = nlohmann::json::object();
    opt_to_json(j, "memory_bytes", l.memory_bytes);
    opt_to_json(j, "memory_swap_bytes", l.memory_swap_bytes);
    opt_to_json(j, "cpu_weight", l.cpu_weight);
    opt_to_json(j, "cpu_quota_us", l.cpu_quota_us);
    j["cpu_period_us"] = l.cpu_period_us;
    opt_to_json(j, "cpuset_cpus", l.cpuset_cpus);
    opt_to_json(j, "pids_max", l.pids_max);
}

void from_json(const nlohmann::json& j, Limits& l) {
    opt_from_json(j, "memory_bytes", l.memory_bytes);
    opt_from_json(j, "memory_swap_bytes", l.memory_swap_bytes);
    opt_from_json(j, "cpu_weight", l.cpu_weight);
    opt_from_json(j, "cpu_quota_us", l.cpu_quota_us);
    l.cpu_period_us = j.value("cpu_period_us", l.cpu_period_us);
    opt_from_json(j, "cpuset_cpus", l.cpuset_cpus);
    opt_from_json(j, "pids_max", l.pids_max);
}

} // namespace lodge::runtime
