// PUT of profiles and instances with lxc's request bodies.
#include "cli/object_updates.hpp"

#include "cli/error.hpp"

#include <ostream>

namespace lodge::cli {

using nlohmann::json;

std::string profile_path(const std::string& name) { return "/1.0/profiles/" + url_escape(name); }
std::string instance_path(const std::string& name) { return "/1.0/instances/" + url_escape(name); }

namespace {

json object_or_empty(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_object() ? *it : json::object();
}

} // namespace

json profile_put(const json& profile) {
    return {{"config", object_or_empty(profile, "config")},
            {"description", profile.value("description", "")},
            {"devices", object_or_empty(profile, "devices")}};
}

json instance_put(const json& instance) {
    json put = {{"architecture", instance.value("architecture", "")},
                {"config", object_or_empty(instance, "config")},
                {"devices", object_or_empty(instance, "devices")},
                {"ephemeral", instance.value("ephemeral", false)},
                {"profiles", instance.contains("profiles") && instance["profiles"].is_array() ? instance["profiles"]
                                                                                              : json::array()},
                {"stateful", instance.value("stateful", false)},
                {"description", instance.value("description", "")}};
    return put;
}

void report_restart_required(Context& ctx, const json& metadata) {
    if (!metadata.is_object()) return;
    auto it = metadata.find("restart_required");
    if (it == metadata.end() || !it->is_array() || it->empty()) return;
    std::string names;
    for (const auto& n : *it)
        if (n.is_string()) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    if (!names.empty()) ctx.err << "Restart " << names << " for the change to take effect\n";
}

void put_profile(Context& ctx, ApiClient& api, const std::string& name, const json& put) {
    report_restart_required(ctx, api.query("PUT", profile_path(name), put));
}

void put_instance(Context& ctx, ApiClient& api, const std::string& name, const json& put) {
    auto op = api.wait(api.query("PUT", instance_path(name), put));
    report_restart_required(ctx, op.value("metadata", json(nullptr)));
}

std::pair<std::string, std::string> named_target(const Context& ctx, const std::string& arg,
                                                 const std::string& missing) {
    auto target = parse_remote(ctx.config, arg);
    if (target.second.empty()) throw Error(missing);
    return target;
}

} // namespace lodge::cli
