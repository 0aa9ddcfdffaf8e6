// Test helpers: loading LXD 5.0.2's recorded responses (shared/reference,
// beside the repository) and comparing JSON shapes with them.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace lodge::test {

inline std::string reference_path(const std::string& name) {
    return std::string(LODGE_SOURCE_DIR) + "/../shared/reference/lxd-5.0.2/" + name;
}

inline std::string read_reference_text(const std::string& name) {
    std::ifstream in(reference_path(name));
    if (!in) throw std::runtime_error("missing reference file " + reference_path(name));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline nlohmann::json load_reference(const std::string& name) { return nlohmann::json::parse(read_reference_text(name)); }

// The body of a recorded .http response (after the blank line).
inline std::string reference_http_body(const std::string& name) {
    auto text = read_reference_text(name);
    auto pos = text.find("\r\n\r\n");
    if (pos != std::string::npos) return text.substr(pos + 4);
    pos = text.find("\n\n");
    return pos == std::string::npos ? "" : text.substr(pos + 2);
}

inline const char* kind(const nlohmann::json& j) {
    if (j.is_null()) return "null";
    if (j.is_boolean()) return "boolean";
    if (j.is_number()) return "number";
    if (j.is_string()) return "string";
    if (j.is_array()) return "array";
    return "object";
}

// Same keys and the same JSON kind at every key, recursively. Arrays
// compare each of our elements with the reference's first. Objects whose
// path is in `free_maps` are maps with arbitrary keys (config, features):
// only their values' kinds are compared.
inline ::testing::AssertionResult same_shape(const nlohmann::json& ours, const nlohmann::json& ref,
                                             const std::set<std::string>& free_maps = {},
                                             const std::string& path = "") {
    if (std::string(kind(ours)) != kind(ref))
        return ::testing::AssertionFailure() << path << ": " << kind(ours) << " where LXD has " << kind(ref);
    if (ours.is_array()) {
        if (ours.empty() || ref.empty()) return ::testing::AssertionSuccess();
        for (size_t i = 0; i < ours.size(); ++i) {
            auto r = same_shape(ours[i], ref[0], free_maps, path + "[]");
            if (!r) return r;
        }
    } else if (ours.is_object()) {
        if (free_maps.count(path)) {
            for (const auto& [k, v] : ours.items())
                for (const auto& [rk, rv] : ref.items()) {
                    if (std::string(kind(v)) != kind(rv))
                        return ::testing::AssertionFailure()
                               << path << "." << k << ": " << kind(v) << " where LXD has " << kind(rv);
                    break;
                }
            return ::testing::AssertionSuccess();
        }
        for (const auto& [k, v] : ref.items())
            if (!ours.contains(k)) return ::testing::AssertionFailure() << path << "." << k << ": missing";
        for (const auto& [k, v] : ours.items()) {
            if (!ref.contains(k)) return ::testing::AssertionFailure() << path << "." << k << ": not in LXD's object";
            auto r = same_shape(v, ref[k], free_maps, path + "." + k);
            if (!r) return r;
        }
    }
    return ::testing::AssertionSuccess();
}

} // namespace lodge::test
