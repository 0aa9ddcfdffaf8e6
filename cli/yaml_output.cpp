// JSON → YAML in the layout of Go's yaml.v2, so `lodge info`, `show` and
// `--format yaml` read like `lxc`'s and config.yml looks like lxc's.
#include "cli/yaml_output.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>
#include <set>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string spaces(int n) { return std::string(static_cast<size_t>(n), ' '); }

std::string double_quoted(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02X", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

// Literal block style is what yaml.v2 picks for multi-line strings; lines
// with leading blanks or odd characters would not survive it, so those get
// double quotes instead.
bool literal_ok(const std::string& s) {
    if (s.find('\n') == std::string::npos) return false;
    if (s.front() == ' ' || s.front() == '\t') return false;
    return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c == '\r' || c == '\t' || (c < 0x20 && c != '\n'); });
}

std::string literal_block(const std::string& s, int indent) {
    size_t trailing = s.size() - s.find_last_not_of('\n') - 1;
    std::string out = trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
    std::string body = s.substr(0, s.size() - trailing);
    size_t pos = 0;
    while (pos <= body.size()) {
        size_t nl = body.find('\n', pos);
        std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        out += "\n" + (line.empty() ? std::string() : spaces(indent) + line);
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    for (size_t i = 1; i < trailing; ++i) out += "\n";
    return out;
}

// Strings that would read back as another type (numbers, booleans, null,
// timestamps, "") are double-quoted by yaml.v2; other strings that cannot be
// plain are single-quoted unless they hold characters only double quotes carry.
bool reads_as_other_type(const std::string& s);

bool single_quote_ok(const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// yaml.v2's single-quoted scalar: ' doubled, and a space past column 80
// (best_width) becomes a line break indented by `indent`, when neither
// neighbour is a space and it is not the first or last character.
std::string single_quoted(const std::string& s, int indent, int column) {
    std::string out = "'";
    ++column;
    bool spaces_before = false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == ' ') {
            if (!spaces_before && column > 80 && i > 0 && i + 1 < s.size() && s[i + 1] != ' ') {
                out += "\n" + std::string(static_cast<size_t>(indent), ' ');
                column = indent;
            } else {
                out += c;
                ++column;
            }
            spaces_before = true;
            continue;
        }
        if (c == '\'') out += '\'', ++column;
        out += c;
        // UTF-8 continuation bytes take no column.
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++column;
        spaces_before = false;
    }
    return out + "'";
}

// A scalar on the rest of a line starting at `column`, whose block content
// (if any) is indented by `indent`.
std::string scalar(const json& v, int indent, int column = 0) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number()) return v.dump();
    if (v.is_object()) return "{}";
    if (v.is_array()) return "[]";
    const auto& s = v.get_ref<const std::string&>();
    if (literal_ok(s)) return literal_block(s, indent);
    if (!yaml_needs_quotes(s)) return s;
    if (reads_as_other_type(s) || !single_quote_ok(s)) return double_quoted(s);
    return single_quoted(s, indent, column);
}

// The column where the next character of out goes.
int column_of(const std::string& out) {
    const auto nl = out.rfind('\n');
    return static_cast<int>(nl == std::string::npos ? out.size() : out.size() - nl - 1);
}

bool is_block(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

std::vector<std::string> ordered_keys(const json& obj, const std::string& path, const KeyOrder& order) {
    std::vector<std::string> keys;
    std::set<std::string> seen;
    if (auto it = order.find(path); it != order.end())
        for (const auto& k : it->second)
            if (obj.contains(k) && seen.insert(k).second) keys.push_back(k);
    for (const auto& [k, _] : obj.items()) // nlohmann keeps objects sorted
        if (!seen.count(k)) keys.push_back(k);
    return keys;
}

std::string child_path(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

void emit(std::string& out, const json& v, int indent, const std::string& path, const KeyOrder& order);

void emit_object(std::string& out, const json& obj, int indent, const std::string& path, const KeyOrder& order) {
    for (const auto& key : ordered_keys(obj, path, order)) {
        const json& value = obj.at(key);
        out += spaces(indent) + (yaml_needs_quotes(key) ? double_quoted(key) : key) + ":";
        if (value.is_object() && !value.empty()) {
            out += "\n";
            emit(out, value, indent + 2, child_path(path, key), order);
        } else if (value.is_array() && !value.empty()) {
            out += "\n"; // yaml.v2 does not indent a sequence under its key
            emit(out, value, indent, child_path(path, key), order);
        } else {
            out += " ";
            out += scalar(value, indent + 2, column_of(out)) + "\n";
        }
    }
}

void emit_array(std::string& out, const json& arr, int indent, const std::string& path, const KeyOrder& order) {
    for (const auto& item : arr) {
        if (is_block(item)) {
            // The item's first line goes after the dash: render it two
            // columns deeper, then put "- " where its indent was.
            std::string inner;
            emit(inner, item, indent + 2, path + "[]", order);
            out += spaces(indent) + "- " + inner.substr(static_cast<size_t>(indent) + 2);
        } else {
            out += spaces(indent) + "- ";
            out += scalar(item, indent + 2, column_of(out)) + "\n";
        }
    }
}

void emit(std::string& out, const json& v, int indent, const std::string& path, const KeyOrder& order) {
    if (v.is_object())
        emit_object(out, v, indent, path, order);
    else
        emit_array(out, v, indent, path, order);
}

} // namespace

namespace {

// What yaml.v2 resolves to something other than a string when read plain:
// "", YAML 1.1 booleans and nulls, numbers, timestamps.
bool reads_as_other_type(const std::string& s) {
    if (s.empty()) return true;
    static const std::set<std::string> reserved{"y",    "Y",    "yes",  "Yes",   "YES",   "n",     "N",     "no",
                                                "No",   "NO",   "true", "True",  "TRUE",  "false", "False", "FALSE",
                                                "on",   "On",   "ON",   "off",   "Off",   "OFF",   "null",  "Null",
                                                "NULL", "~",    ".inf", ".Inf",  ".INF",  "-.inf", "+.inf", ".nan",
                                                ".NaN", ".NAN", "<<",   "-.Inf", "+.Inf", "-.INF", "+.INF"};
    if (reserved.count(s)) return true;
    static const std::regex number(R"(^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|\.[0-9_]+([eE][-+]?[0-9]+)?)$)");
    static const std::regex timestamp(R"(^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$)");
    return std::regex_match(s, number) || std::regex_match(s, timestamp);
}

} // namespace

bool yaml_needs_quotes(const std::string& s) {
    if (reads_as_other_type(s)) return true;
    static const std::string indicators = "-?:,[]{}#&*!|>'\"%@`";
    if (indicators.find(s.front()) != std::string::npos) {
        // "-", "?" and ":" start a plain scalar when a non-space follows.
        bool plain_ok = (s.front() == '-' || s.front() == '?' || s.front() == ':') && s.size() > 1 && s[1] != ' ';
        if (!plain_ok) return true;
    }
    if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
    if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
    return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string to_yaml(const nlohmann::json& value, const KeyOrder& order) {
    if (!is_block(value)) return scalar(value, 2) + "\n";
    std::string out;
    emit(out, value, 0, "", order);
    return out;
}

const KeyOrder& server_key_order() {
    // shared/api/server.go: Server, ServerUntrusted and ServerEnvironment.
    static const KeyOrder order{
        {"", {"config", "api_extensions", "api_status", "api_version", "auth", "public", "auth_methods", "environment"}},
        {"environment",
         {"addresses", "architectures", "certificate", "certificate_fingerprint", "driver", "driver_version",
          "firewall", "kernel", "kernel_architecture", "kernel_features", "kernel_version", "lxc_features",
          "os_name", "os_version", "project", "server", "server_clustered", "server_event_mode", "server_name",
          "server_pid", "server_version", "storage", "storage_version", "storage_supported_drivers"}},
        {"environment.storage_supported_drivers[]", {"name", "version", "remote"}},
    };
    return order;
}

const KeyOrder& storage_pool_key_order() {
    static const KeyOrder order{{"", {"config", "description", "name", "driver", "used_by", "status", "locations"}}};
    return order;
}

const KeyOrder& profile_key_order() {
    static const KeyOrder order{{"", {"config", "description", "devices", "name", "used_by"}}};
    return order;
}

const KeyOrder& instance_put_key_order() {
    static const KeyOrder order{{"", {"architecture", "config", "devices", "ephemeral", "profiles", "stateful",
                                      "description"}}};
    return order;
}

const KeyOrder& operation_key_order() {
    static const KeyOrder order{{"", {"id", "class", "description", "created_at", "updated_at", "status",
                                      "status_code", "resources", "metadata", "may_cancel", "err", "location"}}};
    return order;
}

} // namespace lodge::cli
