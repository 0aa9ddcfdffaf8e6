// The config schema of instances and profiles: every key LXD's
// instance_options define that lodge acts on, and lodge's own (lodge.*),
// each with its value type, checked on every write. Devices are checked
// here too, for the keys each device type takes.
#pragma once

#include "api/profile.hpp"

#include <string>
#include <vector>

namespace lodge::profiles {

// Profiles carry what instances carry except lodged's own volatile.* keys.
enum class ConfigScope { instance, profile };

// Error(400) naming the key for an unknown key (with the nearest valid key
// when one is close: "did you mean limits.memory") or an invalid value.
void validate_config(const api::ConfigMap& config, ConfigScope scope);

// Error(400) naming the device and key for unknown device types, unknown or
// missing keys and invalid values. Checks the form only: whether a pool,
// volume or host path exists is for the instance's start.
void validate_devices(const api::DeviceMap& devices);

// Whether a change of key takes effect on a running instance (limits,
// boot.*, snapshots.*, user.*) or waits for its next start (security.*,
// raw.idmap, linux.init).
bool applies_live(const std::string& key);

// Every key of the schema (free-form namespaces aside), for listings and
// for tests that check each one.
std::vector<std::string> schema_keys();

// The valid key nearest to a misspelt one, or "" when none is close.
std::string nearest_key(const std::string& key);

// A list value (security.syscalls.*, lodge.security.caps.drop): names
// separated by new lines, commas or spaces.
std::vector<std::string> name_list(const std::string& value);

} // namespace lodge::profiles
