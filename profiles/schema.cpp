// The config schema as a table: one entry per key with its value type, so
// that validation, suggestions for misspelt keys and the live/restart
// answer all read the same list. Key names and value forms are LXD's
// (doc/reference/instance_options.md) unless they start with lodge.
#include "profiles/schema.hpp"

#include "common/error.hpp"
#include "profiles/cron.hpp"
#include "profiles/values.hpp"
#include "profiles/expiry.hpp"
#include "runtime/config.hpp"
#include "runtime/security.hpp"

#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <map>
#include <set>
#include <string_view>
#include <vector>

namespace lodge::profiles {

namespace {

bool is_unsigned(const std::string& v) {
    return !v.empty() && v.size() < 19 &&
           std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

[[noreturn]] void bad_value(const std::string& key, const std::string& value, const std::string& why = {}) {
    throw Error(400, "Invalid config: invalid value for " + key + ": \"" + value + "\"" + (why.empty() ? "" : ": " + why));
}

// Value types; each checker throws bad_value.
using Check = void (*)(const std::string& key, const std::string& value);

void check_bool(const std::string& k, const std::string& v) {
    if (v != "true" && v != "false" && v != "1" && v != "0" && !v.empty()) bad_value(k, v, "expected true or false");
}
void check_uint(const std::string& k, const std::string& v) {
    if (!v.empty() && !is_unsigned(v)) bad_value(k, v, "expected a whole number");
}
void check_any(const std::string&, const std::string&) {}

void check_cpus(const std::string&, const std::string& v) {
    if (!v.empty()) cpuset_from(v);
}
void check_allowance(const std::string&, const std::string& v) {
    if (!v.empty()) parse_allowance(v);
}
void check_priority(const std::string& k, const std::string& v) {
    if (v.empty()) return;
    if (!is_unsigned(v) || std::stoul(v) > 10) bad_value(k, v, "expected 0 to 10");
}
void check_memory(const std::string&, const std::string& v) {
    if (!v.empty()) memory_bytes(v);
}
void check_enforce(const std::string& k, const std::string& v) {
    if (!v.empty() && v != "hard" && v != "soft") bad_value(k, v, "expected hard or soft");
}
void check_signal(const std::string& k, const std::string& v) {
    if (!v.empty() && runtime::signal_from_name(v) < 0) bad_value(k, v, "not a signal");
}
void check_cron(const std::string& k, const std::string& v) {
    try {
        CronSchedule::parse(v);
    } catch (const Error& e) {
        bad_value(k, v, e.what());
    }
}
void check_expiry(const std::string& k, const std::string& v) {
    try {
        expiry_after(api::now(), v);
    } catch (const Error& e) {
        bad_value(k, v, e.what());
    }
}
void check_pattern(const std::string& k, const std::string& v) {
    if (v.find('/') != std::string::npos) bad_value(k, v, "a snapshot name cannot hold /");
}
void check_syscalls(const std::string& k, const std::string& v) {
    runtime::SecurityPolicy p;
    p.caps_drop.clear();
    p.syscalls_deny.clear();
    (k == "security.syscalls.allow" ? p.syscalls_allow : p.syscalls_deny) = name_list(v);
    try {
        p.validate();
    } catch (const Error& e) {
        bad_value(k, v, e.what());
    }
}
void check_caps(const std::string& k, const std::string& v) {
    runtime::SecurityPolicy p;
    p.syscalls_deny.clear();
    p.caps_drop = name_list(v);
    try {
        p.validate();
    } catch (const Error& e) {
        bad_value(k, v, e.what());
    }
}
void check_absolute(const std::string& k, const std::string& v) {
    if (!v.empty() && v[0] != '/') bad_value(k, v, "expected an absolute path inside the instance");
}
void check_personality(const std::string& k, const std::string& v) {
    if (!v.empty() && v != "any" && v != "linux") bad_value(k, v, "expected any or linux");
}
void check_raw_idmap(const std::string& k, const std::string& v) {
    try {
        parse_raw_idmap(v);
    } catch (const Error& e) {
        bad_value(k, v, e.what());
    }
}
void check_nesting(const std::string& k, const std::string& v) {
    check_bool(k, v);
    // The runtime's pid namespace belongs to the host's user namespace
    // (docs/runtime.md), so a nested container manager could not mount its
    // own procfs: refused rather than accepted and not honoured.
    if (truthy(v)) bad_value(k, v, "nested containers are not supported by lodge's runtime yet");
}

struct KeySpec {
    std::string_view name;
    Check check;
    bool live;          // takes effect on a running instance without a restart
    bool profile = true; // may be set in a profile
};

constexpr KeySpec key_table[] = {
    {"boot.autostart", check_bool, true},
    {"boot.autostart.delay", check_uint, true},
    {"boot.autostart.priority", check_uint, true},
    {"boot.host_shutdown_timeout", check_uint, true},
    {"boot.stop.priority", check_uint, true},
    {"limits.cpu", check_cpus, true},
    {"limits.cpu.allowance", check_allowance, true},
    {"limits.cpu.priority", check_priority, true},
    {"limits.memory", check_memory, true},
    {"limits.memory.swap", check_bool, true},
    {"limits.memory.enforce", check_enforce, true},
    {"limits.processes", check_uint, true},
    {"security.privileged", check_bool, false},
    {"security.nesting", check_nesting, false},
    {"security.idmap.isolated", check_bool, false},
    {"security.idmap.size", check_uint, false},
    {"security.idmap.base", check_uint, false},
    {"security.syscalls.deny", check_syscalls, false},
    {"security.syscalls.deny_default", check_bool, false},
    {"security.syscalls.deny_compat", check_bool, false},
    {"security.syscalls.allow", check_syscalls, false},
    {"security.protection.delete", check_bool, true},
    {"raw.idmap", check_raw_idmap, false},
    {"linux.init", check_absolute, false},
    {"linux.halt_signal", check_signal, false},
    {"snapshots.schedule", check_cron, true},
    {"snapshots.schedule.stopped", check_bool, true},
    {"snapshots.pattern", check_pattern, true},
    {"snapshots.expiry", check_expiry, true},
    {"cloud-init.user-data", check_any, true},
    {"cloud-init.vendor-data", check_any, true},
    {"cloud-init.network-config", check_any, true},
    {"lodge.baseline", check_bool, true},
    {"lodge.security.caps.drop", check_caps, false},
    {"lodge.security.personality", check_personality, false},
};

const KeySpec* find_key(const std::string& key) {
    for (const auto& spec : key_table)
        if (spec.name == key) return &spec;
    return nullptr;
}

// Free-form namespaces: any key under them is valid.
bool free_form(const std::string& key, ConfigScope scope) {
    if (key.rfind("user.", 0) == 0 || key.rfind("environment.", 0) == 0) return key.find('.') + 1 < key.size();
    if (scope == ConfigScope::instance) return key.rfind("image.", 0) == 0 || key.rfind("volatile.", 0) == 0;
    return false;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

} // namespace

std::vector<std::string> name_list(const std::string& value) {
    std::vector<std::string> out;
    std::string current;
    for (char c : value + "\n") {
        if (c == ',' || c == '\n' || std::isspace(static_cast<unsigned char>(c))) {
            if (!current.empty()) out.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    return out;
}

std::vector<std::string> schema_keys() {
    std::vector<std::string> out;
    for (const auto& spec : key_table) out.emplace_back(spec.name);
    return out;
}

std::string nearest_key(const std::string& key) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, key.size() / 4) + 1;
    for (const auto& spec : key_table) {
        const auto d = edit_distance(key, spec.name);
        if (d < best_distance) {
            best_distance = d;
            best = spec.name;
        }
    }
    return best;
}

bool applies_live(const std::string& key) {
    if (key.rfind("user.", 0) == 0 || key.rfind("environment.", 0) == 0 || key.rfind("image.", 0) == 0 ||
        key.rfind("volatile.", 0) == 0)
        return true;
    const auto* spec = find_key(key);
    return spec && spec->live;
}

void validate_config(const api::ConfigMap& config, ConfigScope scope) {
    for (const auto& [key, value] : config) {
        if (free_form(key, scope)) continue;
        const auto* spec = find_key(key);
        if (!spec) {
            std::string message = "Invalid config: Unknown configuration key: " + key;
            if (key.rfind("volatile.", 0) == 0 || key.rfind("image.", 0) == 0)
                message += " (volatile.* and image.* belong to instances, not profiles)";
            else if (auto near = nearest_key(key); !near.empty())
                message += " (did you mean " + near + "?)";
            throw Error(400, message);
        }
        if (!spec->profile && scope == ConfigScope::profile)
            throw Error(400, "Invalid config: " + key + " cannot be set in a profile");
        spec->check(key, value);
    }
}

// --- Devices ---

namespace {

struct DeviceType {
    std::string_view type;
    std::set<std::string_view> keys;
};

const DeviceType device_types[] = {
    {"disk", {"path", "source", "pool", "readonly", "size", "shift", "required"}},
    {"unix-char", {"source", "path", "major", "minor", "uid", "gid", "mode", "required"}},
    {"unix-block", {"source", "path", "major", "minor", "uid", "gid", "mode", "required"}},
    {"nic", {"nictype", "network", "parent", "name", "hwaddr", "mtu", "ipv4.address", "host_name", "mode",
             "limits.ingress", "limits.egress"}},
    {"proxy", {"listen", "connect", "bind"}},
    {"none", {}},
};

[[noreturn]] void bad_device(const std::string& dev, const std::string& why) {
    throw Error(400, "Invalid devices: Device \"" + dev + "\": " + why);
}

bool absolute_clean(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    std::size_t start = 1;
    while (start <= p.size()) {
        auto end = p.find('/', start);
        if (end == std::string::npos) end = p.size();
        const auto part = p.substr(start, end - start);
        if (part == "..") return false;
        start = end + 1;
    }
    return true;
}

void check_disk(const std::string& dev, const std::map<std::string, std::string>& keys) {
    auto get = [&](const char* k) {
        auto it = keys.find(k);
        return it == keys.end() ? std::string() : it->second;
    };
    const auto path = get("path");
    if (path.empty()) bad_device(dev, "a disk needs a path");
    if (!absolute_clean(path)) bad_device(dev, "path \"" + path + "\" must be absolute, without ..");
    for (const char* k : {"readonly", "shift", "required"})
        if (keys.count(k) && !keys.at(k).empty() && keys.at(k) != "true" && keys.at(k) != "false")
            bad_device(dev, std::string(k) + " must be true or false");
    if (path == "/") {
        if (!get("source").empty()) bad_device(dev, "the root disk takes a pool, not a source");
        if (get("pool").empty()) bad_device(dev, "the root disk needs a pool");
        if (auto size = get("size"); !size.empty()) try {
                runtime::parse_size(size);
            } catch (const Error&) {
                bad_device(dev, "invalid size \"" + size + "\"");
            }
        return;
    }
    if (!get("size").empty()) bad_device(dev, "size applies to the root disk only");
    const auto source = get("source");
    if (source.empty()) bad_device(dev, "a disk other than the root needs a source");
    if (get("pool").empty()) {
        if (!absolute_clean(source))
            bad_device(dev, "source \"" + source + "\" must be an absolute host path (or give a pool and a volume)");
    } else if (source.find('/') != std::string::npos) {
        bad_device(dev, "source \"" + source + "\" must name a custom volume of pool \"" + get("pool") + "\"");
    }
}

void check_unix(const std::string& dev, const std::map<std::string, std::string>& keys) {
    auto get = [&](const char* k) {
        auto it = keys.find(k);
        return it == keys.end() ? std::string() : it->second;
    };
    if (get("source").empty() && get("path").empty()) bad_device(dev, "a unix device needs a source or a path");
    for (const char* k : {"source", "path"})
        if (!get(k).empty() && !absolute_clean(get(k))) bad_device(dev, std::string(k) + " must be an absolute path");
    for (const char* k : {"major", "minor", "uid", "gid"})
        if (!get(k).empty() && !is_unsigned(get(k))) bad_device(dev, std::string(k) + " must be a whole number");
    if (auto mode = get("mode"); !mode.empty()) {
        const bool octal = mode.size() <= 4 && std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
        if (!octal) bad_device(dev, "mode must be octal (0660)");
    }
    if (get("required") != "" && get("required") != "true" && get("required") != "false")
        bad_device(dev, "required must be true or false");
}

void check_nic(const std::string& dev, const std::map<std::string, std::string>& keys) {
    auto get = [&](const char* k) {
        auto it = keys.find(k);
        return it == keys.end() ? std::string() : it->second;
    };
    const auto nictype = get("nictype"), network = get("network"), parent = get("parent");
    if (!network.empty()) {
        if (!nictype.empty() && nictype != "bridged")
            bad_device(dev, "a nic on a managed network is bridged (nictype \"" + nictype + "\" was given)");
        if (!parent.empty()) bad_device(dev, "give either network or parent, not both");
    } else if (nictype.empty()) {
        bad_device(dev, "a nic needs a network, or a nictype (bridged, macvlan, p2p) and a parent");
    } else if (nictype != "bridged" && nictype != "macvlan" && nictype != "p2p") {
        bad_device(dev, "unknown nictype \"" + nictype + "\" (lodge knows bridged, macvlan, p2p)");
    } else if (nictype != "p2p" && parent.empty()) {
        bad_device(dev, "a " + nictype + " nic needs a parent interface");
    }
    for (const char* k : {"name", "host_name", "parent", "network"})
        if (!get(k).empty() && !runtime::valid_interface_name(get(k))) bad_device(dev, std::string("invalid ") + k + " \"" + get(k) + "\"");
    if (get("name") == "lo") bad_device(dev, "the container's loopback interface is its own");
    if (auto mac = get("hwaddr"); !mac.empty()) {
        unsigned b[6];
        char tail;
        if (mac.size() != 17 || std::sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
            (b[0] & 1))
            bad_device(dev, "invalid hwaddr \"" + mac + "\" (a unicast MAC like 00:16:3e:12:34:56)");
    }
    if (auto mtu = get("mtu"); !mtu.empty() && (!is_unsigned(mtu) || std::stoul(mtu) < 68 || std::stoul(mtu) > 65535))
        bad_device(dev, "mtu must be a number from 68 to 65535");
    if (auto a = get("ipv4.address"); !a.empty()) {
        in_addr addr;
        if (::inet_pton(AF_INET, a.c_str(), &addr) != 1) bad_device(dev, "invalid ipv4.address \"" + a + "\"");
        if (nictype == "macvlan" || nictype == "p2p") bad_device(dev, "ipv4.address needs a managed network");
    }
    for (const char* k : {"limits.ingress", "limits.egress"}) {
        const auto rate = get(k);
        if (rate.empty()) continue;
        size_t digits = 0;
        while (digits < rate.size() && std::isdigit(static_cast<unsigned char>(rate[digits]))) ++digits;
        const auto unit = rate.substr(digits);
        if (digits == 0 || rate[0] == '0' || (unit != "bit" && unit != "kbit" && unit != "Mbit" && unit != "Gbit" && unit != "Tbit"))
            bad_device(dev, std::string("invalid ") + k + " \"" + rate + "\": a rate like 100Mbit (bit, kbit, Mbit, Gbit, Tbit)");
        if (nictype == "macvlan") bad_device(dev, std::string(k) + " applies to bridged and p2p nics");
    }
    if (auto mode = get("mode"); !mode.empty() && (nictype != "macvlan" || (mode != "bridge" && mode != "vepa" &&
                                                                          mode != "private" && mode != "passthru")))
        bad_device(dev, "mode applies to macvlan nics (bridge, vepa, private, passthru)");
}

void check_proxy(const std::string& dev, const std::map<std::string, std::string>& keys) {
    for (const char* k : {"listen", "connect"}) {
        auto it = keys.find(k);
        if (it == keys.end() || it->second.empty()) bad_device(dev, std::string("a proxy needs ") + k);
        const auto& v = it->second;
        if (v.rfind("tcp:", 0) != 0 && v.rfind("udp:", 0) != 0 && v.rfind("unix:", 0) != 0)
            bad_device(dev, std::string(k) + " \"" + v + "\" must start with tcp:, udp: or unix:");
    }
    if (auto it = keys.find("bind"); it != keys.end() && !it->second.empty() && it->second != "host")
        bad_device(dev, "bind must be host (lodge listens on the host and connects inside the instance)");
}

} // namespace

void validate_devices(const api::DeviceMap& devices) {
    for (const auto& [dev, keys] : devices) {
        if (dev.empty() || dev.find('/') != std::string::npos || dev == "." || dev == "..")
            throw Error(400, "Invalid devices: invalid device name \"" + dev + "\"");
        auto t = keys.find("type");
        if (t == keys.end() || t->second.empty()) bad_device(dev, "no type");
        const DeviceType* type = nullptr;
        for (const auto& d : device_types)
            if (d.type == t->second) type = &d;
        if (!type) bad_device(dev, "unknown type \"" + t->second + "\" (lodge knows disk, unix-char, unix-block, nic, proxy, none)");
        for (const auto& [k, v] : keys)
            if (k != "type" && !type->keys.count(k)) bad_device(dev, "unknown key \"" + k + "\" for a " + t->second);
        if (type->type == "disk") check_disk(dev, keys);
        if (type->type == "unix-char" || type->type == "unix-block") check_unix(dev, keys);
        if (type->type == "nic") check_nic(dev, keys);
        if (type->type == "proxy") check_proxy(dev, keys);
    }
}

// --- Values ---

std::string cpuset_from(const std::string& v) {
    if (is_unsigned(v)) {
        const auto n = std::stoul(v);
        if (n == 0) bad_value("limits.cpu", v, "at least one cpu");
        return n == 1 ? "0" : "0-" + std::to_string(n - 1);
    }
    if (v.empty()) bad_value("limits.cpu", v);
    for (char c : v)
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != ',') bad_value("limits.cpu", v, "expected a count or a set like 0-1,3");
    return v;
}

CpuAllowance parse_allowance(const std::string& v) {
    const std::string key = "limits.cpu.allowance";
    CpuAllowance out;
    if (v.size() > 1 && v.back() == '%') {
        const auto pct = v.substr(0, v.size() - 1);
        if (!is_unsigned(pct) || std::stoul(pct) == 0 || std::stoul(pct) > 100) bad_value(key, v, "expected 1% to 100%");
        // A percentage is a share under contention in LXD; with no other
        // weight to compare against, a weight is its nearest meaning.
        out.weight = std::stoul(pct);
        return out;
    }
    const auto slash = v.find('/');
    if (slash == std::string::npos) bad_value(key, v, "expected a percentage or 25ms/100ms");
    auto ms = [&](const std::string& s) {
        if (s.size() < 3 || s.substr(s.size() - 2) != "ms" || !is_unsigned(s.substr(0, s.size() - 2)))
            bad_value(key, v, "expected 25ms/100ms");
        return std::stoull(s.substr(0, s.size() - 2)) * 1000;
    };
    out.quota_us = ms(v.substr(0, slash));
    out.period_us = ms(v.substr(slash + 1));
    if (*out.quota_us == 0 || out.period_us == 0) bad_value(key, v, "times must be above zero");
    return out;
}

uint64_t memory_bytes(const std::string& v) {
    if (!v.empty() && v.back() == '%') {
        const auto pct = v.substr(0, v.size() - 1);
        if (!is_unsigned(pct) || std::stoul(pct) == 0 || std::stoul(pct) > 100)
            bad_value("limits.memory", v, "expected 1% to 100%");
        const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
        return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 100 * std::stoull(pct);
    }
    try {
        const auto bytes = runtime::parse_size(v);
        if (bytes < 4 * 1024 * 1024) bad_value("limits.memory", v, "below 4MiB no system boots");
        return bytes;
    } catch (const Error& e) {
        if (std::string(e.what()).find("limits.memory") != std::string::npos) throw;
        bad_value("limits.memory", v, "expected a size (512MiB) or a percentage");
    }
}

} // namespace lodge::profiles
