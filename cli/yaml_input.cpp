#include "cli/yaml_input.hpp"

#include "cli/error.hpp"

namespace lodge::cli {

nlohmann::json yaml_string_map(const YAML::Node& node, const std::string& what) {
    nlohmann::json out = nlohmann::json::object();
    if (!node || node.IsNull()) return out;
    if (!node.IsMap()) throw Error("yaml: " + what + " must be a map");
    for (const auto& kv : node) {
        if (!kv.second.IsNull() && !kv.second.IsScalar())
            throw Error("yaml: " + what + "." + kv.first.Scalar() + " must be a string");
        out[kv.first.Scalar()] = kv.second.IsNull() ? "" : kv.second.Scalar();
    }
    return out;
}

} // namespace lodge::cli
