// Writes of whole profiles and instances as lxc sends them (read, change,
// PUT the writable part back), shared by the profile and device verbs, with
// lodge's notice when lodged says running instances need a restart.
#pragma once

#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lodge::cli {

std::string profile_path(const std::string& name);
std::string instance_path(const std::string& name);

// api.ProfilePut of a profile object: config, description, devices.
nlohmann::json profile_put(const nlohmann::json& profile);
// api.InstancePut of an instance object: what PUT takes.
nlohmann::json instance_put(const nlohmann::json& instance);

// PUT /1.0/profiles/NAME (sync).
void put_profile(Context& ctx, ApiClient& api, const std::string& name, const nlohmann::json& put);
// PUT /1.0/instances/NAME and the wait for its operation.
void put_instance(Context& ctx, ApiClient& api, const std::string& name, const nlohmann::json& put);

// lodged's answer to a profile or instance change may name running
// instances that need a restart ({"restart_required": [...]}, on a sync
// answer or an operation's metadata): "Restart c1, c2 for the change to
// take effect" on stderr. lxc ignores the key.
void report_restart_required(Context& ctx, const nlohmann::json& metadata);

// The object's name from "[<remote>:]<name>": Error(missing) when empty.
std::pair<std::string, std::string> named_target(const Context& ctx, const std::string& arg,
                                                 const std::string& missing);

} // namespace lodge::cli
