// The direct writer behind instance lists.
#include "daemon/api/instance_json.hpp"

#include <cstdio>

namespace lodge::daemon {

namespace {

// JSON string escaping as nlohmann's dump() does it (UTF-8 passes through).
void append_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

void append_map(std::string& out, const std::map<std::string, std::string>& m) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : m) {
        if (!first) out += ',';
        first = false;
        append_string(out, k);
        out += ':';
        append_string(out, v);
    }
    out += '}';
}

void append_devices(std::string& out, const api::DeviceMap& d) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : d) {
        if (!first) out += ',';
        first = false;
        append_string(out, k);
        out += ':';
        append_map(out, v);
    }
    out += '}';
}

void key(std::string& out, const char* name) {
    out += '"';
    out += name;
    out += "\":";
}

} // namespace

void append_instance_json(std::string& out, const api::Instance& i) {
    // Keys in nlohmann's (sorted) order, as dump() writes them.
    out += '{';
    key(out, "architecture"); append_string(out, i.architecture); out += ',';
    key(out, "config"); append_map(out, i.config); out += ',';
    key(out, "created_at"); append_string(out, i.created_at); out += ',';
    key(out, "description"); append_string(out, i.description); out += ',';
    key(out, "devices"); append_devices(out, i.devices); out += ',';
    key(out, "ephemeral"); out += i.ephemeral ? "true" : "false"; out += ',';
    key(out, "expanded_config"); append_map(out, i.expanded_config); out += ',';
    key(out, "expanded_devices"); append_devices(out, i.expanded_devices); out += ',';
    key(out, "last_used_at"); append_string(out, i.last_used_at); out += ',';
    key(out, "location"); out += "\"none\","; 
    key(out, "name"); append_string(out, i.name); out += ',';
    key(out, "profiles"); out += '[';
    for (size_t n = 0; n < i.profiles.size(); ++n) {
        if (n) out += ',';
        append_string(out, i.profiles[n]);
    }
    out += "],";
    key(out, "project"); append_string(out, i.project); out += ',';
    key(out, "stateful"); out += i.stateful ? "true" : "false"; out += ',';
    key(out, "status"); append_string(out, std::string(api::status_name(i.status))); out += ',';
    key(out, "status_code"); out += std::to_string(static_cast<int>(i.status)); out += ',';
    key(out, "type"); append_string(out, i.type);
    out += '}';
}

} // namespace lodge::daemon
