// Which way is weaker, key by key: each key a baseline can hold is compared
// by a rule that knows what "less protection" means for it (a true that
// should be false, a shorter deny list, a higher limit, an unset limit).
#include "profiles/baseline.hpp"

#include "profiles/schema.hpp"
#include "profiles/values.hpp"
#include "runtime/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

namespace lodge::profiles {

namespace {

constexpr double unlimited = std::numeric_limits<double>::infinity();

// The bound a limit sets, comparable across its forms; unset or
// unreadable: unlimited.
double memory_bound(const std::string& v) {
    if (v.empty()) return unlimited;
    try {
        return static_cast<double>(memory_bytes(v));
    } catch (const std::exception&) {
        return unlimited;
    }
}

double count_bound(const std::string& v) {
    if (v.empty()) return unlimited;
    try {
        return static_cast<double>(std::stoull(v));
    } catch (const std::exception&) {
        return unlimited;
    }
}

// limits.cpu: how many cpus the set holds.
double cpu_bound(const std::string& v) {
    if (v.empty()) return unlimited;
    try {
        double n = 0;
        const auto set = cpuset_from(v) + ",";
        std::size_t start = 0;
        for (auto comma = set.find(','); comma != std::string::npos; start = comma + 1, comma = set.find(',', start)) {
            const auto part = set.substr(start, comma - start);
            if (part.empty()) continue;
            const auto dash = part.find('-');
            n += dash == std::string::npos ? 1 : std::stod(part.substr(dash + 1)) - std::stod(part.substr(0, dash)) + 1;
        }
        return n;
    } catch (const std::exception&) {
        return unlimited;
    }
}

// limits.cpu.allowance: a quota as cpus' worth (quota / period); a
// percentage is a share, compared as its own number only with another share.
double allowance_bound(const std::string& v, bool& share) {
    share = false;
    if (v.empty()) return unlimited;
    try {
        const auto a = parse_allowance(v);
        if (a.weight) {
            share = true;
            return static_cast<double>(*a.weight);
        }
        return static_cast<double>(*a.quota_us) / static_cast<double>(a.period_us);
    } catch (const std::exception&) {
        return unlimited;
    }
}

std::set<std::string> name_set(const std::string& v) {
    const auto names = name_list(v);
    return {names.begin(), names.end()};
}

std::string join(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
}

bool bool_of(const std::string& v, bool fallback) { return v.empty() ? fallback : truthy(v); }

// The weaker-than test of one key: a message when `actual` is weaker than
// `wanted`, nothing otherwise.
std::optional<std::string> weaker(const std::string& key, const std::string& wanted, const std::string& actual) {
    // Flags where true gives up protection, with their defaults.
    if (key == "security.privileged" || key == "security.nesting" || key == "limits.memory.swap") {
        const bool fallback = key == "limits.memory.swap";
        if (!bool_of(wanted, fallback) && bool_of(actual, fallback)) return key + " is on; the baseline has it off";
        return std::nullopt;
    }
    // Flags where false gives up protection.
    if (key == "security.idmap.isolated" || key == "security.syscalls.deny_default" ||
        key == "security.syscalls.deny_compat") {
        const bool fallback = key == "security.syscalls.deny_default";
        if (bool_of(wanted, fallback) && !bool_of(actual, fallback)) return key + " is off; the baseline has it on";
        return std::nullopt;
    }
    // Lists the instance must keep whole.
    if (key == "security.syscalls.deny" || key == "lodge.security.caps.drop") {
        std::set<std::string> missing;
        const auto have = name_set(actual);
        for (const auto& n : name_set(wanted))
            if (!have.count(n)) missing.insert(n);
        if (!missing.empty()) return key + " lacks " + join(missing);
        return std::nullopt;
    }
    // An allow list may only shrink.
    if (key == "security.syscalls.allow") {
        if (wanted.empty()) return std::nullopt;
        if (actual.empty()) return "security.syscalls.allow is unset: every syscall outside the deny lists is allowed";
        std::set<std::string> extra;
        const auto allowed = name_set(wanted);
        for (const auto& n : name_set(actual))
            if (!allowed.count(n)) extra.insert(n);
        if (!extra.empty()) return "security.syscalls.allow adds " + join(extra);
        return std::nullopt;
    }
    if (key == "lodge.security.personality") {
        if (wanted == "linux" && actual != "linux") return "personality(2) is not restricted";
        return std::nullopt;
    }
    if (key == "limits.memory.enforce") {
        if ((wanted.empty() || wanted == "hard") && actual == "soft") return "limits.memory is enforced only softly";
        return std::nullopt;
    }
    if (key == "raw.idmap") {
        std::set<std::string> extra;
        const auto base = parse_raw_idmap(wanted);
        for (const auto& e : parse_raw_idmap(actual)) {
            const bool known = std::any_of(base.begin(), base.end(), [&](const auto& b) {
                return b.uid == e.uid && b.gid == e.gid && b.host == e.host && b.container == e.container &&
                       b.count == e.count;
            });
            if (!known) extra.insert(std::to_string(e.host));
        }
        if (!extra.empty()) return "raw.idmap maps host ids " + join(extra) + " into the container";
        return std::nullopt;
    }
    // Upper bounds: higher (or unset) is weaker.
    double want = 0, have = 0;
    if (key == "limits.memory") {
        want = memory_bound(wanted);
        have = memory_bound(actual);
    } else if (key == "limits.processes" || key == "limits.cpu.priority") {
        want = count_bound(wanted);
        have = count_bound(actual);
    } else if (key == "limits.cpu") {
        want = cpu_bound(wanted);
        have = cpu_bound(actual);
    } else if (key == "limits.cpu.allowance") {
        bool want_share = false, have_share = false;
        want = allowance_bound(wanted, want_share);
        have = allowance_bound(actual, have_share);
        if (want_share != have_share && have != unlimited) return std::nullopt; // different forms: not comparable
    } else {
        return std::nullopt; // not a protection setting
    }
    if (have > want) return key + (actual.empty() ? " is unset" : " is higher") + " than the baseline's";
    return std::nullopt;
}

// Who set the value the instance ends up with.
std::string source_of(const std::string& key, const api::ConfigMap& local, const std::vector<api::Profile>& profiles) {
    if (local.count(key)) return "instance";
    for (auto it = profiles.rbegin(); it != profiles.rend(); ++it)
        if (it->config.count(key)) return "profile " + it->name;
    return "unset";
}

} // namespace

void to_json(nlohmann::json& j, const Finding& f) {
    j = nlohmann::json{{"kind", f.kind},         {"check", f.check},   {"expected", f.expected},
                       {"actual", f.actual},     {"source", f.source}, {"message", f.message}};
}

bool is_baseline(const api::Profile& profile) { return truthy(value_of(profile.config, "lodge.baseline")); }

std::vector<Finding> baseline_drift(const api::ConfigMap& expanded, const api::DeviceMap& expanded_devices,
                                    const api::ConfigMap& local, const std::vector<api::Profile>& profiles) {
    std::vector<Finding> out;
    for (const auto& profile : profiles) {
        if (!is_baseline(profile)) continue;
        for (const auto& [key, wanted] : profile.config) {
            const auto actual = value_of(expanded, key);
            if (auto why = weaker(key, wanted, actual))
                out.push_back({"config", key, wanted, actual, source_of(key, local, profiles),
                               *why + " (baseline " + profile.name + ")"});
        }
        for (const auto& [dev, keys] : profile.devices) {
            auto it = expanded_devices.find(dev);
            const bool removed = it == expanded_devices.end() || value_of(it->second, "type") == "none";
            const bool loosened = !removed && truthy(value_of(keys, "readonly")) && !truthy(value_of(it->second, "readonly"));
            if (!removed && !loosened) continue;
            std::string source = "instance";
            for (auto later = profiles.rbegin(); later != profiles.rend() && &*later != &profile; ++later)
                if (later->devices.count(dev)) {
                    source = "profile " + later->name;
                    break;
                }
            out.push_back({"config", "devices." + dev, value_of(keys, "type"), removed ? "none" : "writable", source,
                               "device " + dev + (removed ? " is removed" : " is writable") + " (baseline " +
                                   profile.name + ")"});
        }
    }
    return out;
}

} // namespace lodge::profiles
