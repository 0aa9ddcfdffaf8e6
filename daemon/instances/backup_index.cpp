// Writing and reading backup/index.yaml (see backup_index.hpp).
#include "daemon/instances/backup_index.hpp"

#include "api/time.hpp"
#include "common/error.hpp"
#include "daemon/instances/instances.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

namespace lodge::daemon {

namespace {

YAML::Node to_yaml(const nlohmann::json& j) {
    YAML::Node n;
    switch (j.type()) {
    case nlohmann::json::value_t::object:
        n = YAML::Node(YAML::NodeType::Map);
        for (const auto& [k, v] : j.items()) n[k] = to_yaml(v);
        break;
    case nlohmann::json::value_t::array:
        n = YAML::Node(YAML::NodeType::Sequence);
        for (const auto& v : j) n.push_back(to_yaml(v));
        break;
    case nlohmann::json::value_t::string: n = j.get<std::string>(); break;
    case nlohmann::json::value_t::boolean: n = j.get<bool>(); break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: n = j.get<long long>(); break;
    case nlohmann::json::value_t::number_float: n = j.get<double>(); break;
    default: n = YAML::Node(YAML::NodeType::Null);
    }
    return n;
}

// ---- reading index.yaml (untrusted) ----

std::string text(const YAML::Node& n, const char* key) {
    return n[key] && n[key].IsScalar() ? n[key].as<std::string>() : std::string();
}

bool flag(const YAML::Node& n, const char* key) { return n[key] && n[key].IsScalar() && n[key].as<bool>(); }

api::ConfigMap string_map(const YAML::Node& n) {
    api::ConfigMap out;
    if (!n || n.IsNull()) return out;
    if (!n.IsMap()) throw Error(400, "Invalid backup index.yaml: a config is not a mapping");
    for (const auto& kv : n) out[kv.first.as<std::string>()] = kv.second.IsNull() ? "" : kv.second.as<std::string>();
    return out;
}

api::DeviceMap device_map(const YAML::Node& n) {
    api::DeviceMap out;
    if (!n || n.IsNull()) return out;
    if (!n.IsMap()) throw Error(400, "Invalid backup index.yaml: devices is not a mapping");
    for (const auto& kv : n) out[kv.first.as<std::string>()] = string_map(kv.second);
    return out;
}

std::vector<std::string> string_list(const YAML::Node& n) {
    std::vector<std::string> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) throw Error(400, "Invalid backup index.yaml: a list is not a sequence");
    for (const auto& v : n) out.push_back(v.as<std::string>());
    return out;
}


} // namespace

BackupIndex parse_backup_index(const std::string& yaml) {
    BackupIndex out;
    try {
        auto doc = YAML::Load(yaml);
        if (!doc.IsMap()) throw Error(400, "Invalid backup index.yaml: not a mapping");
        out.name = text(doc, "name");
        out.pool = text(doc, "pool");
        out.backend = text(doc, "backend");
        out.optimized = flag(doc, "optimized");
        out.snapshot_names = string_list(doc["snapshots"]);
        if (const auto type = text(doc, "type"); !type.empty() && type != "container")
            throw Error(400, "Backup of a " + type + ": lodge restores containers only");
        const auto config = doc["config"];
        if (!config || !config.IsMap() || !config["container"] || !config["container"].IsMap())
            throw Error(400, "Invalid backup index.yaml: no config.container (backups from LXD before 4.0 are not "
                             "supported)");
        const auto c = config["container"];
        auto& i = out.instance;
        i.description = text(c, "description");
        if (auto a = text(c, "architecture"); !a.empty()) i.architecture = a;
        i.ephemeral = flag(c, "ephemeral");
        i.config = string_map(c["config"]);
        i.devices = device_map(c["devices"]);
        i.profiles = string_list(c["profiles"]);
        std::map<std::string, api::InstanceSnapshot> by_name;
        if (const auto snaps = config["snapshots"]; snaps && !snaps.IsNull()) {
            if (!snaps.IsSequence()) throw Error(400, "Invalid backup index.yaml: config.snapshots is not a list");
            for (const auto& s : snaps) {
                api::InstanceSnapshot snap;
                snap.name = text(s, "name");
                // LXD writes "instance/snapshot" in some versions.
                if (auto slash = snap.name.find('/'); slash != std::string::npos) snap.name = snap.name.substr(slash + 1);
                snap.description = text(s, "description");
                if (auto a = text(s, "architecture"); !a.empty()) snap.architecture = a;
                snap.ephemeral = flag(s, "ephemeral");
                snap.config = string_map(s["config"]);
                snap.devices = device_map(s["devices"]);
                snap.profiles = string_list(s["profiles"]);
                snap.created_at = text(s, "created_at");
                if (auto e = text(s, "expires_at"); !e.empty()) snap.expires_at = e;
                by_name[snap.name] = snap;
            }
        }
        std::set<std::string> seen;
        for (const auto& name : out.snapshot_names) {
            check_snapshot_name(name);
            if (!seen.insert(name).second)
                throw Error(400, "Invalid backup index.yaml: snapshot \"" + name + "\" is listed twice");
            auto it = by_name.find(name);
            if (it == by_name.end()) {
                api::InstanceSnapshot snap;
                snap.name = name;
                snap.config = i.config;
                snap.devices = i.devices;
                snap.profiles = i.profiles;
                snap.architecture = i.architecture;
                out.snapshots.push_back(snap);
            } else {
                out.snapshots.push_back(it->second);
            }
        }
    } catch (const YAML::Exception& e) {
        throw Error(400, std::string("Invalid backup index.yaml: ") + e.what());
    }
    for (auto& s : out.snapshots) {
        api::Time t{};
        if (s.created_at.empty() || !api::parse_time(s.created_at, t)) s.created_at = api::format_time(api::now());
        if (!api::parse_time(s.expires_at, t)) s.expires_at = "0001-01-01T00:00:00Z";
    }
    return out;
}


std::string backup_index_yaml(const api::Instance& instance, const std::vector<api::InstanceSnapshot>& snapshots,
                              const std::optional<api::StoragePool>& pool, const std::string& pool_name,
                              const std::string& backend, bool instance_only) {
    YAML::Node index;
    index["name"] = instance.name;
    index["backend"] = backend;
    index["pool"] = pool_name;
    if (!instance_only) {
        YAML::Node names(YAML::NodeType::Sequence);
        for (const auto& s : snapshots) names.push_back(s.name);
        index["snapshots"] = names;
    }
    index["optimized"] = false;
    index["optimized_header"] = false;
    index["type"] = "container";
    YAML::Node config;
    config["container"] = to_yaml(nlohmann::json(instance));
    if (!snapshots.empty()) {
        YAML::Node snaps(YAML::NodeType::Sequence);
        for (const auto& s : snapshots) snaps.push_back(to_yaml(nlohmann::json(s)));
        config["snapshots"] = snaps;
    }
    if (pool) config["pool"] = to_yaml(nlohmann::json(*pool));
    config["volume"] = to_yaml(nlohmann::json{{"name", instance.name},
                                              {"type", "container"},
                                              {"content_type", "filesystem"},
                                              {"description", ""},
                                              {"config", nlohmann::json::object()},
                                              {"project", instance.project},
                                              {"location", "none"},
                                              {"used_by", nlohmann::json::array()}});
    index["config"] = config;
    YAML::Emitter emitter;
    emitter << index;
    return std::string(emitter.c_str()) + "\n";
}

} // namespace lodge::daemon
