// The server's config keys (PUT/PATCH /1.0): which keys lodged knows, how
// each value is checked, and how a request changes the stored map.
#pragma once

#include <nlohmann/json.hpp>

#include "api/time.hpp"
#include "profiles/expiry.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lodge::daemon {

using ConfigMap = std::map<std::string, std::string>;

// Throws Error(400) naming the key when it is unknown or its value invalid.
// An empty value is always valid: it means "unset".
void validate_server_config_key(const std::string& key, const std::string& value);

// The config after a request: `replace` (PUT) makes `request_config` the
// whole config; otherwise (PATCH) it is merged in. Values may be JSON
// strings, numbers or booleans (clients send all three); null or "" unsets.
// Throws Error(400) and changes nothing on the first bad key or value.
ConfigMap apply_server_config(const ConfigMap& current, const nlohmann::json& request_config, bool replace);

// The keys lodged implements, for messages and documentation.
std::vector<std::string> known_server_config_keys();

} // namespace lodge::daemon
