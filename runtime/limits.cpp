// Limits: their checks, the v1 and v2 forms of their values, the split of
// a set of limits between hierarchies on hybrid hosts, and their JSON, as
// the monitor's config.json and the daemon's audit carry them (unset fields
// are absent, so "no limit" is never a magic number).
#include "runtime/cgroup.hpp"

#include "common/error.hpp"
#include "runtime/cgroup_internal.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace lodge::runtime {

namespace cgroup_detail {

void validate_limits(const Limits& l) {
    if (l.cpu_weight && (*l.cpu_weight < 1 || *l.cpu_weight > 10000))
        throw Error(400, "cpu weight " + std::to_string(*l.cpu_weight) + " is outside 1..10000");
    if (l.cpu_period_us < 1000 || l.cpu_period_us > 1000000)
        throw Error(400, "cpu period " + std::to_string(l.cpu_period_us) + " us is outside 1000..1000000");
    if (l.cpu_quota_us && *l.cpu_quota_us < 1000)
        throw Error(400, "cpu quota " + std::to_string(*l.cpu_quota_us) + " us is below 1000");
    if (l.cpuset_cpus &&
        (l.cpuset_cpus->empty() || l.cpuset_cpus->find_first_not_of("0123456789,-") != std::string::npos))
        throw Error(400, "invalid cpu list '" + *l.cpuset_cpus + "' (expected e.g. 0-1 or 0,2)");
}

uint64_t v1_shares_from_weight(uint64_t weight) {
    return std::max<uint64_t>(2, weight * 1024 / 100); // the kernel's minimum is 2 shares
}

std::optional<uint64_t> v1_memsw_target(const Limits& l) {
    if (!l.memory_bytes || !l.memory_swap_bytes) return std::nullopt;
    if (*l.memory_swap_bytes > UINT64_MAX - *l.memory_bytes) return std::nullopt;
    return *l.memory_bytes + *l.memory_swap_bytes;
}

bool v1_memsw_first(std::optional<uint64_t> new_memory, uint64_t current_memsw) {
    return new_memory.value_or(UINT64_MAX) > current_memsw;
}

std::string v2_cpu_max(const Limits& l) {
    return (l.cpu_quota_us ? std::to_string(*l.cpu_quota_us) : "max") + " " + std::to_string(l.cpu_period_us);
}

std::optional<uint64_t> parse_limit(std::string_view text) {
    text = trim(text);
    if (text == "max" || text == "-1") return std::nullopt;
    auto v = parse_u64(text);
    // v1 memory shows "unlimited" as PAGE_COUNTER_MAX pages in bytes.
    constexpr uint64_t v1_unlimited = 0x7ffffffffffff000ULL;
    if (v && *v >= v1_unlimited) return std::nullopt;
    if (!v) throw Error("unexpected cgroup limit value '" + std::string(text) + "'");
    return v;
}

uint64_t weight_from_v1_shares(uint64_t shares) {
    // shares = floor(weight * 10.24) steps by more than one per weight, so
    // the weight is the smallest one that reaches these shares.
    uint64_t weight = (shares * 100 + 1023) / 1024;
    return std::clamp<uint64_t>(weight, 1, 10000);
}

std::optional<std::pair<std::optional<uint64_t>, uint64_t>> parse_cpu_max(std::string_view text) {
    text = trim(text);
    auto sp = text.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    auto quota = text.substr(0, sp);
    auto period = parse_u64(text.substr(sp + 1));
    if (!period) return std::nullopt;
    if (quota == "max") return std::make_pair(std::optional<uint64_t>(), *period);
    auto q = parse_u64(quota);
    if (!q) return std::nullopt;
    return std::make_pair(q, *period);
}

Limits without_defaults(Limits l) {
    if (l.cpu_weight == 100u) l.cpu_weight.reset();
    return l;
}

namespace {

bool uses(const Limits& l, std::string_view controller) {
    if (controller == "memory") return l.memory_bytes || l.memory_swap_bytes || l.memory_soft_bytes;
    if (controller == "cpu") return l.cpu_weight || l.cpu_quota_us;
    if (controller == "cpuset") return l.cpuset_cpus.has_value();
    if (controller == "pids") return l.pids_max.has_value();
    return false;
}

// Copies the fields of one controller's group from `from` into `to`.
void copy_group(const Limits& from, Limits& to, std::string_view controller) {
    if (controller == "memory") {
        to.memory_bytes = from.memory_bytes;
        to.memory_swap_bytes = from.memory_swap_bytes;
        to.memory_soft_bytes = from.memory_soft_bytes;
    } else if (controller == "cpu") {
        to.cpu_weight = from.cpu_weight;
        to.cpu_quota_us = from.cpu_quota_us;
        to.cpu_period_us = from.cpu_period_us;
    } else if (controller == "cpuset") {
        to.cpuset_cpus = from.cpuset_cpus;
    } else if (controller == "pids") {
        to.pids_max = from.pids_max;
    }
}

} // namespace

void require_controllers(const Limits& limits, const HasController& has) {
    for (auto c : controllers_used)
        if (uses(limits, c) && !has(c))
            throw Error(400, std::string("the ") + std::string(c) + " limit needs the " + std::string(c) +
                                 " cgroup controller, which this host does not provide");
}

std::pair<Limits, Limits> split_limits(const Limits& limits, const HasController& first) {
    std::pair<Limits, Limits> out;
    for (auto c : controllers_used) copy_group(limits, first(c) ? out.first : out.second, c);
    return out;
}

Limits merge_limits(const Limits& first, const Limits& second, const HasController& from_first) {
    Limits out;
    for (auto c : controllers_used) copy_group(from_first(c) ? first : second, out, c);
    return out;
}

} // namespace cgroup_detail

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
    opt_to_json(j, "memory_soft_bytes", l.memory_soft_bytes);
    opt_to_json(j, "cpu_weight", l.cpu_weight);
    opt_to_json(j, "cpu_quota_us", l.cpu_quota_us);
    j["cpu_period_us"] = l.cpu_period_us;
    opt_to_json(j, "cpuset_cpus", l.cpuset_cpus);
    opt_to_json(j, "pids_max", l.pids_max);
}

void from_json(const nlohmann::json& j, Limits& l) {
    opt_from_json(j, "memory_bytes", l.memory_bytes);
    opt_from_json(j, "memory_swap_bytes", l.memory_swap_bytes);
    opt_from_json(j, "memory_soft_bytes", l.memory_soft_bytes);
    opt_from_json(j, "cpu_weight", l.cpu_weight);
    opt_from_json(j, "cpu_quota_us", l.cpu_quota_us);
    l.cpu_period_us = j.value("cpu_period_us", l.cpu_period_us);
    opt_from_json(j, "cpuset_cpus", l.cpuset_cpus);
    opt_from_json(j, "pids_max", l.pids_max);
}

} // namespace lodge::runtime
