// JSON values written as YAML the way LXD's `lxc` prints them (Go's
// gopkg.in/yaml.v2): block style, sequences not indented under their key,
// strings quoted only when they would read back as something else, and
// object keys in the order of LXD's Go structs where that differs from
// alphabetical.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace lodge::cli {

// Key order per object, named by the object's path with array indices
// written as "[]": "" is the top level, "environment" the server's
// environment, "environment.storage_supported_drivers[]" its entries.
// Keys not listed follow in alphabetical order.
using KeyOrder = std::map<std::string, std::vector<std::string>>;

std::string to_yaml(const nlohmann::json& value, const KeyOrder& order = {});

// True when a string must be quoted to read back as the same string.
bool yaml_needs_quotes(const std::string& s);

// The orders of the objects lodge prints (LXD's shared/api structs).
const KeyOrder& server_key_order();       // GET /1.0
const KeyOrder& storage_pool_key_order(); // GET /1.0/storage-pools/NAME
const KeyOrder& profile_key_order();      // GET /1.0/profiles/NAME
const KeyOrder& instance_put_key_order(); // `config show NAME` (InstancePut)
const KeyOrder& operation_key_order();    // GET /1.0/operations/ID

} // namespace lodge::cli
