// YAML an editor (or stdin) gives back to `lodge … edit`, read the way lxc's
// yaml.v2 reads it into Go structs.
#pragma once

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <string>

namespace lodge::cli {

// A map of strings (map[string]string): any scalar is its text, null is "";
// absent or null is {}. Error("yaml: WHAT must be a map") for anything else.
nlohmann::json yaml_string_map(const YAML::Node& node, const std::string& what);

} // namespace lodge::cli
