// The `<object>_config` tables all have the same shape (owner id, key,
// value); these read and write one owner's map. Table and column names are
// compile-time constants of the callers, never request data.
#pragma once

#include "daemon/db/database.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace lodge::daemon::db {

using ConfigMap = std::map<std::string, std::string>;

ConfigMap load_key_values(Database& db, std::string_view table, std::string_view owner_column, std::int64_t owner);

// Replaces the owner's whole map.
void store_key_values(Database& db, std::string_view table, std::string_view owner_column, std::int64_t owner,
                      const ConfigMap& values);

// Devices: `<object>_devices` (owner, name, type) with their keys in
// `<object>_devices_config`. The API shows "type" among the keys.
using DeviceMap = std::map<std::string, std::map<std::string, std::string>>;

struct DeviceTables {
    std::string_view devices;       // "profiles_devices"
    std::string_view owner_column;  // "profile_id"
    std::string_view config;        // "profiles_devices_config"
    std::string_view device_column; // "profile_device_id"
};

DeviceMap load_devices(Database& db, const DeviceTables& t, std::int64_t owner);
// Replaces the owner's devices; throws Error(400) for a device without a type.
void store_devices(Database& db, const DeviceTables& t, std::int64_t owner, const DeviceMap& devices);

// The server config (table `config`, no owner).
ConfigMap load_server_config(Database& db);
void store_server_config(Database& db, const ConfigMap& values);

} // namespace lodge::daemon::db
