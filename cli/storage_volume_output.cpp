// Storage volumes printed the way lxc 5.0.2 prints api.StorageVolume and
// api.StorageVolumeSnapshot (shared/api/storage_pool_volume*.go).
#include "cli/storage_volume_output.hpp"

#include <cstdio>
#include <regex>

namespace lodge::cli {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

const std::vector<std::string> volume_keys{"config",   "description",  "name",    "type",      "used_by",
                                           "location", "content_type", "project", "created_at"};
const std::vector<std::string> snapshot_keys{"description", "expires_at",   "name",
                                             "config",      "content_type", "created_at"};

ordered_json ordered(const json& v, const std::string& path, const KeyOrder& order) {
    if (v.is_array()) {
        ordered_json out = ordered_json::array();
        for (const auto& e : v) out.push_back(ordered(e, path.empty() ? "[]" : path + "[]", order));
        return out;
    }
    if (!v.is_object()) return ordered_json::parse(v.dump());
    ordered_json out = ordered_json::object();
    const auto child = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
    std::vector<std::string> listed;
    if (auto it = order.find(path); it != order.end())
        for (const auto& k : it->second)
            if (v.contains(k)) {
                out[k] = ordered(v.at(k), child(k), order);
                listed.push_back(k);
            }
    for (const auto& [k, e] : v.items()) // nlohmann's own order: sorted, as Go sorts a map's keys
        if (std::find(listed.begin(), listed.end(), k) == listed.end()) out[k] = ordered(e, child(k), order);
    return out;
}

} // namespace

const KeyOrder& storage_volume_key_order() {
    static const KeyOrder order{{"", volume_keys}, {"[]", volume_keys}};
    return order;
}

const KeyOrder& storage_volume_snapshot_key_order() {
    static const KeyOrder order{{"", snapshot_keys}, {"[]", snapshot_keys}};
    return order;
}

std::string volume_yaml(const json& value, const KeyOrder& order) {
    // A time.Time is no string to yaml.v2, so it is never quoted; the keys
    // only occur at the objects' own level (indent 0, or 2 in a list).
    static const std::regex quoted_time(R"((^|\n)(  )?(- )?(created_at|expires_at): "([^"\n]*)\")");
    return std::regex_replace(to_yaml(value, order), quoted_time, "$1$2$3$4: $5");
}

std::string volume_json(const json& value, const KeyOrder& order) {
    std::string out;
    // '<', '>' and '&' only occur inside strings, where Go writes them escaped.
    for (char c : ordered(value, "", order).dump()) {
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else out += c;
    }
    return out + "\n";
}

std::string iec_bytes(double v) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (v < 1024) return std::to_string(static_cast<long long>(v)) + "B";
    int u = 0;
    while (v >= 1024 && u < 6) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%s", v, units[u]);
    return buf;
}

std::string last_component(const std::string& name) { return name.substr(name.rfind('/') + 1); }

bool natural_less(const std::string& a, const std::string& b) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = digit(a[i]), db = digit(b[j]);
        if (da != db) return da;
        if (!da) {
            if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
            ++i, ++j;
            continue;
        }
        while (i < a.size() && a[i] == '0') ++i;
        while (j < b.size() && b[j] == '0') ++j;
        const size_t na = i, nb = j;
        while (i < a.size() && digit(a[i])) ++i;
        while (j < b.size() && digit(b[j])) ++j;
        if (i - na != j - nb) return i - na < j - nb;
        if (auto x = a.substr(na, i - na), y = b.substr(nb, j - nb); x != y) return x < y;
        if (na != nb) return na < nb;
    }
    return a.size() < b.size();
}

} // namespace lodge::cli
