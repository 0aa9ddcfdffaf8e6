// lxc's list columns over the instance JSON: which addresses count (no
// loopback device, no link- or host-local scope), how types and snapshot
// counts are shown.
#include "cli/instance_columns.hpp"

#include "cli/error.hpp"

#include <algorithm>
#include <map>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// api.Instance.IsActive: everything but Stopped (102) and Error (112).
bool is_active(const json& inst) {
    if (auto it = inst.find("status_code"); it != inst.end() && it->is_number_integer() && it->get<int>() != 0)
        return it->get<int>() != 102 && it->get<int>() != 112;
    auto status = str(inst, "status");
    return status != "Stopped" && status != "Error";
}

const json* state_of(const json& inst) {
    auto it = inst.find("state");
    return it != inst.end() && it->is_object() ? &*it : nullptr;
}

std::string addresses(const json& inst, const std::string& family) {
    const json* state = state_of(inst);
    if (!is_active(inst) || !state || !state->contains("network") || !(*state)["network"].is_object()) return "";
    std::vector<std::string> found;
    for (const auto& [dev, net] : (*state)["network"].items()) {
        if (str(net, "type") == "loopback" || !net.contains("addresses") || !net["addresses"].is_array()) continue;
        for (const auto& addr : net["addresses"]) {
            auto scope = str(addr, "scope");
            if (scope == "link" || scope == "local") continue;
            if (str(addr, "family") == family) found.push_back(str(addr, "address") + " (" + dev + ")");
        }
    }
    std::sort(found.rbegin(), found.rend()); // lxc sorts them in reverse
    std::string out;
    for (const auto& a : found) out += (out.empty() ? "" : "\n") + a;
    return out;
}

std::string state_number(const json& inst, const char* key) {
    const json* state = state_of(inst);
    if (!is_active(inst) || !state) return "";
    auto it = state->find(key);
    return it != state->end() && it->is_number() ? it->dump() : "0";
}

std::string type_column(const json& inst) {
    auto type = str(inst, "type");
    std::string out = upper(type.empty() ? "container" : type);
    if (inst.value("ephemeral", false)) out += " (EPHEMERAL)";
    return out;
}

std::string snapshots_column(const json& inst) {
    auto it = inst.find("snapshots");
    return it != inst.end() && it->is_array() ? std::to_string(it->size()) : "0";
}

std::string join_lines(const json& arr) {
    std::string out;
    if (arr.is_array())
        for (const auto& v : arr)
            if (v.is_string()) out += (out.empty() ? "" : "\n") + v.get<std::string>();
    return out;
}

std::string storage_pool(const json& inst) {
    if (auto it = inst.find("expanded_devices"); it != inst.end() && it->is_object())
        for (const auto& [_, dev] : it->items())
            if (str(dev, "type") == "disk" && str(dev, "path") == "/") return str(dev, "pool");
    return "";
}

const std::map<char, Column>& shorthands() {
    static const std::map<char, Column> m{
        {'4', {"IPV4", [](const json& i) { return addresses(i, "inet"); }, true}},
        {'6', {"IPV6", [](const json& i) { return addresses(i, "inet6"); }, true}},
        {'a', {"ARCHITECTURE", [](const json& i) { return str(i, "architecture"); }}},
        {'b', {"STORAGE POOL", storage_pool}},
        {'d', {"DESCRIPTION", [](const json& i) { return str(i, "description"); }}},
        {'e', {"PROJECT", [](const json& i) { return str(i, "project"); }}},
        {'f', {"BASE IMAGE", [](const json& i) { return str(i.value("config", json::object()), "volatile.base_image").substr(0, 12); }}},
        {'F', {"BASE IMAGE", [](const json& i) { return str(i.value("config", json::object()), "volatile.base_image"); }}},
        {'n', {"NAME", [](const json& i) { return str(i, "name"); }}},
        {'N', {"PROCESSES", [](const json& i) { return state_number(i, "processes"); }, true}},
        {'p', {"PID", [](const json& i) { return state_number(i, "pid"); }, true}},
        {'P', {"PROFILES", [](const json& i) { return join_lines(i.value("profiles", json::array())); }}},
        {'S', {"SNAPSHOTS", snapshots_column, true}},
        {'s', {"STATE", [](const json& i) { return upper(str(i, "status")); }}},
        {'t', {"TYPE", type_column}},
    };
    return m;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t pos = 0;
    for (;;) {
        size_t next = s.find(sep, pos);
        parts.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) return parts;
        pos = next + 1;
    }
}

// "[config:|devices:]KEY[:NAME[:MAXWIDTH]]", as lxc's list -c.
Column key_column(const std::string& entry) {
    auto parts = split(entry, ':');
    bool devices = false;
    if ((parts[0] == "config" || parts[0] == "devices") && parts.size() > 1) {
        devices = parts[0] == "devices";
        parts.erase(parts.begin());
    }
    if (parts.size() > 3) throw Error("Invalid config key column format (too many fields): '" + entry + "'");
    std::string key = parts[0];
    Column col{key, nullptr};
    if (parts.size() > 1) {
        if (parts[1].empty() && parts.size() != 3)
            throw Error("Invalid name in '" + entry + "', empty string is only allowed when defining maxWidth");
        col.name = parts[1];
    }
    long max_width = -1;
    if (parts.size() > 2) {
        try {
            size_t used = 0;
            max_width = std::stol(parts[2], &used);
            if (used != parts[2].size()) throw std::invalid_argument(parts[2]);
        } catch (const std::logic_error&) {
            throw Error("Invalid max width (must be an integer) '" + parts[2] + "' in '" + entry + "'");
        }
        if (max_width < -1) throw Error("Invalid max width (must -1, 0 or a positive integer) '" + parts[2] + "' in '" + entry + "'");
        if (max_width == 0) max_width = static_cast<long>(col.name.size());
    }
    auto truncate = [max_width](std::string v) {
        return max_width > 0 && v.size() > static_cast<size_t>(max_width) ? v.substr(0, static_cast<size_t>(max_width)) : v;
    };
    if (!devices) {
        col.data = [key, truncate](const json& i) {
            auto config = i.value("config", json::object());
            return truncate(config.contains(key) ? str(config, key.c_str()) : str(i.value("expanded_config", json::object()), key.c_str()));
        };
    } else {
        col.data = [key, truncate](const json& i) {
            auto dot = key.find('.');
            if (dot == std::string::npos || key.find('.', dot + 1) != std::string::npos) return std::string();
            auto dev = key.substr(0, dot), field = key.substr(dot + 1);
            auto devs = i.value("devices", json::object());
            if (devs.contains(dev) && devs[dev].contains(field)) return truncate(str(devs[dev], field.c_str()));
            auto exp = i.value("expanded_devices", json::object());
            return truncate(exp.contains(dev) ? str(exp[dev], field.c_str()) : "");
        };
    }
    return col;
}

} // namespace

std::vector<Column> parse_columns(const std::string& spec_in) {
    std::string spec = spec_in;
    if (spec == default_list_columns) {
        spec.erase(std::remove(spec.begin(), spec.end(), 'L'), spec.end());
    } else if (spec.find('L') != std::string::npos && spec.find('.') == std::string::npos) {
        throw Error("Can't specify column L when not clustered");
    }
    std::vector<Column> columns;
    for (const auto& entry : split(spec, ',')) {
        if (entry.empty())
            throw Error("Empty column entry (redundant, leading or trailing command) in '" + spec_in + "'");
        if (entry.find('.') != std::string::npos) {
            columns.push_back(key_column(entry));
            continue;
        }
        for (char c : entry) {
            auto it = shorthands().find(c);
            if (it == shorthands().end())
                throw Error(std::string("Unknown column shorthand char '") + c + "' in '" + entry + "'");
            columns.push_back(it->second);
        }
    }
    return columns;
}

bool instance_matches(const json& inst, const std::vector<std::string>& filters) {
    auto name = str(inst, "name");
    for (const auto& f : filters) {
        auto eq = f.find('=');
        if (eq == std::string::npos) {
            if (name.rfind(f, 0) != 0) return false;
            continue;
        }
        auto key = f.substr(0, eq), value = f.substr(eq + 1);
        auto config = inst.value("expanded_config", inst.value("config", json::object()));
        // lxc lets "user.foo=bar" be written "foo=bar" when no such key exists.
        if (!config.contains(key) && config.contains("user." + key)) key = "user." + key;
        if (key == "status" || key == "type" || key == "name" || key == "architecture" || key == "location") {
            std::string have = str(inst, key.c_str());
            if (upper(have) != upper(value)) return false;
        } else if (str(config, key.c_str()) != value) {
            return false;
        }
    }
    return true;
}

std::vector<Row> instance_rows(const json& instances, const std::vector<Column>& columns) {
    std::vector<Row> rows;
    for (const auto& inst : instances) {
        Row row;
        for (const auto& c : columns) row.push_back(c.data(inst));
        rows.push_back(std::move(row));
    }
    sort_by_name(rows);
    return rows;
}

const KeyOrder& instance_key_order() {
    static const KeyOrder order{
        {"[]",
         {"architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description", "created_at",
          "expanded_config", "expanded_devices", "name", "status", "status_code", "last_used_at", "location", "type",
          "project", "backups", "state", "snapshots"}},
        {"[].state", {"status", "status_code", "disk", "memory", "network", "pid", "processes", "cpu"}},
    };
    return order;
}

} // namespace lodge::cli
