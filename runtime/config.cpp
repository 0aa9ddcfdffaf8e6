#include "runtime/config.hpp"

#include "common/error.hpp"

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

namespace lodge::runtime {

bool valid_container_name(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    if (name.front() == '-' || (name.front() >= '0' && name.front() <= '9') || name.back() == '-') return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

int signal_from_name(const std::string& in) {
    std::string s = in;
    if (s.rfind("SIG", 0) == 0) s = s.substr(3);
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
        int n = std::atoi(s.c_str());
        return n > 0 && n < NSIG ? n : -1;
    }
    if (s.rfind("RTMIN", 0) == 0) {
        int off = s.size() > 5 ? std::atoi(s.c_str() + 5) : 0; // "RTMIN+3" → +3
        int n = SIGRTMIN + off;
        return n <= SIGRTMAX ? n : -1;
    }
    for (int n = 1; n < SIGRTMIN; ++n) {
        const char* abbrev = sigabbrev_np(n);
        if (abbrev && s == abbrev) return n;
    }
    return -1;
}

std::string default_run_dir() {
    const char* env = std::getenv("LODGE_RUN_DIR");
    return env && *env ? env : "/run/lodge";
}

bool valid_interface_name(const std::string& n) {
    return !n.empty() && n.size() < 16 && n != "." && n != ".." &&
           n.find_first_of("/: \t\n") == std::string::npos;
}

void ContainerConfig::validate() const {
    if (!valid_container_name(name))
        throw Error(400, "invalid container name '" + name +
                             "': use letters, digits and dashes, at most 63, not starting with a digit or dash");
    if (rootfs.empty() || rootfs.front() != '/') throw Error(400, "rootfs must be an absolute path");
    if (init.empty() || init.front().empty() || init.front().front() != '/')
        throw Error(400, "init must be an absolute path inside the container");
    if (halt_signal < 0 || halt_signal >= NSIG) throw Error(400, "invalid halt signal");
    if (!privileged && (idmap.uids.empty() || idmap.gids.empty()))
        throw Error(400, "an unprivileged container needs a uid and gid map");
    for (const auto& e : env)
        if (e.find('=') == std::string::npos) throw Error(400, "environment entry '" + e + "' is not KEY=VALUE");
    security.validate();
    for (const auto& m : mounts) {
        if (m.source.empty() || m.source.front() != '/') throw Error(400, "a mount's source must be an absolute path");
        if (m.target.empty() || m.target.front() != '/' || m.target == "/")
            throw Error(400, "a mount's target must be an absolute path other than /");
    }
    for (size_t i = 0; i < devices.size(); ++i) {
        const auto& d = devices[i];
        d.validate();
        for (size_t k = 0; k < i; ++k)
            if (devices[k].path == d.path) throw Error(400, "two device nodes at " + d.path);
        if (!privileged && (idmap.host_uid(d.uid) < 0 || idmap.host_gid(d.gid) < 0))
            throw Error(400, "device node " + d.path + ": owner " + std::to_string(d.uid) + ":" + std::to_string(d.gid) +
                                 " is not in the container's id map");
    }
    for (size_t i = 0; i < interfaces.size(); ++i) {
        const auto& n = interfaces[i];
        if (!valid_interface_name(n.host) || !valid_interface_name(n.name))
            throw Error(400, "invalid network interface name '" + n.host + "' / '" + n.name + "'");
        if (n.name == "lo") throw Error(400, "the container's loopback interface is its own");
        for (size_t k = 0; k < i; ++k)
            if (interfaces[k].name == n.name) throw Error(400, "two network interfaces named " + n.name);
    }
}

void DeviceNode::validate() const {
    if (path.empty() || path.front() != '/' || path.find_first_not_of('/') == std::string::npos)
        throw Error(400, "a device node's path must be an absolute path other than /");
    for (size_t pos = 0; pos <= path.size();) {
        size_t end = path.find('/', pos);
        if (end == std::string::npos) end = path.size();
        if (path.compare(pos, end - pos, "..") == 0)
            throw Error(400, "device node path " + path + " must not contain '..'");
        pos = end + 1;
    }
    if (type != 'c' && type != 'b') throw Error(400, "device node " + path + ": type must be 'c' or 'b'");
    // The limits of dev_t's encoding (12-bit major, 20-bit minor).
    if (major >= (1U << 12)) throw Error(400, "device node " + path + ": major " + std::to_string(major) + " is out of range");
    if (minor >= (1U << 20)) throw Error(400, "device node " + path + ": minor " + std::to_string(minor) + " is out of range");
    if (mode > 07777) throw Error(400, "device node " + path + ": mode must be permission bits (at most 07777)");
}

void to_json(nlohmann::json& j, const DeviceNode& d) {
    j = {{"path", d.path}, {"type", std::string(1, d.type)}, {"major", d.major}, {"minor", d.minor},
         {"uid", d.uid},   {"gid", d.gid},                  {"mode", d.mode}};
}

void from_json(const nlohmann::json& j, DeviceNode& d) {
    d.path = j.at("path").get<std::string>();
    std::string type = j.value("type", std::string("c"));
    if (type.size() != 1) throw Error(400, "device node " + d.path + ": type must be 'c' or 'b'");
    d.type = type[0];
    d.major = j.at("major").get<uint32_t>();
    d.minor = j.at("minor").get<uint32_t>();
    d.uid = j.value("uid", 0U);
    d.gid = j.value("gid", 0U);
    d.mode = j.value("mode", 0660U);
}

void to_json(nlohmann::json& j, const ContainerConfig& c) {
    nlohmann::json limits = c.limits;
    j = {{"name", c.name},       {"rootfs", c.rootfs},         {"init", c.init},
         {"env", c.env},         {"halt_signal", c.halt_signal}, {"privileged", c.privileged},
         {"idmap", c.idmap},     {"limits", limits},           {"security", c.security},
         {"console_log_bytes", c.console_log_bytes}};
    auto& mounts = j["mounts"] = nlohmann::json::array();
    for (const auto& m : c.mounts)
        mounts.push_back({{"source", m.source}, {"target", m.target}, {"readonly", m.readonly}, {"shift", m.shift}});
    j["devices"] = c.devices;
    auto& interfaces = j["interfaces"] = nlohmann::json::array();
    for (const auto& n : c.interfaces) interfaces.push_back({{"host", n.host}, {"name", n.name}});
}

void from_json(const nlohmann::json& j, ContainerConfig& c) {
    c.name = j.at("name").get<std::string>();
    c.rootfs = j.at("rootfs").get<std::string>();
    if (j.contains("init")) c.init = j.at("init").get<std::vector<std::string>>();
    if (j.contains("env")) c.env = j.at("env").get<std::vector<std::string>>();
    c.halt_signal = j.value("halt_signal", 0);
    c.privileged = j.value("privileged", false);
    if (j.contains("idmap")) c.idmap = j.at("idmap").get<IdMap>();
    if (j.contains("limits")) from_json(j.at("limits"), c.limits);
    if (j.contains("security")) c.security = j.at("security").get<SecurityPolicy>();
    c.console_log_bytes = j.value("console_log_bytes", c.console_log_bytes);
    if (j.contains("mounts"))
        for (const auto& m : j.at("mounts"))
            c.mounts.push_back({m.at("source").get<std::string>(), m.at("target").get<std::string>(),
                                m.value("readonly", false), m.value("shift", true)});
    if (j.contains("devices")) c.devices = j.at("devices").get<std::vector<DeviceNode>>();
    if (j.contains("interfaces"))
        for (const auto& n : j.at("interfaces"))
            c.interfaces.push_back({n.at("host").get<std::string>(), n.at("name").get<std::string>()});
}

uint64_t parse_size(const std::string& s) {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) throw Error(400, "invalid size '" + s + "'");
    size_t end = 0;
    double v = 0;
    try {
        v = std::stod(s, &end);
    } catch (const std::exception&) {
        throw Error(400, "invalid size '" + s + "'");
    }
    std::string unit = s.substr(end);
    static const std::map<std::string, uint64_t> units = {
        {"", 1},          {"B", 1},           {"kB", 1000},       {"KB", 1000},        {"MB", 1000000},
        {"GB", 1000000000}, {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"k", 1ULL << 10},
        {"K", 1ULL << 10}, {"M", 1ULL << 20},  {"G", 1ULL << 30}};
    auto it = units.find(unit);
    if (it == units.end() || v < 0) throw Error(400, "invalid size '" + s + "'");
    return static_cast<uint64_t>(v * static_cast<double>(it->second));
}

} // namespace lodge::runtime
