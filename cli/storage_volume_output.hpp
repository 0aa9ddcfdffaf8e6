// Storage volumes and their snapshots printed as lxc prints LXD's Go
// structs: keys in struct order (YAML and JSON alike), times as bare
// scalars, JSON escaped as Go's encoder escapes it.
#pragma once

#include "cli/yaml_output.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::cli {

const KeyOrder& storage_volume_key_order();          // GET .../volumes/TYPE/NAME
const KeyOrder& storage_volume_snapshot_key_order(); // GET .../snapshots/NAME

// YAML of value (an object, or a list of them) with the given order;
// created_at and expires_at unquoted, as yaml.v2 writes a time.Time.
std::string volume_yaml(const nlohmann::json& value, const KeyOrder& order);

// One line of JSON as Go's json.Encoder writes the structs: keys of
// objects in `order` (maps' keys sorted), '<', '>' and '&' escaped.
std::string volume_json(const nlohmann::json& value, const KeyOrder& order);

// Go's units.GetByteSizeStringIEC(n, 2): "512B", "1.50MiB".
std::string iec_bytes(double bytes);

// "a/b": "b"; "a": "a".
std::string last_component(const std::string& name);

// github.com/fvbommel/sortorder NaturalLess, which lxc sorts volumes with:
// digit runs compared as numbers, digits before other characters.
bool natural_less(const std::string& a, const std::string& b);

} // namespace lodge::cli
