// `lodge profile ...`: list, show, create, copy, edit, get, set, unset,
// rename, delete, and assign/add/remove on instances, with lxc 5.0.2's
// requests and output (lxc/profile.go).
#include "cli/api_client.hpp"
#include "cli/yaml_input.hpp"
#include "cli/dispatch.hpp"
#include "cli/object_updates.hpp"
#include "cli/output.hpp"
#include "cli/text_editor.hpp"
#include "cli/yaml_output.hpp"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <iostream>
#include <iterator>
#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

constexpr const char* missing_profile = "Missing profile name";
constexpr const char* missing_instance = "Missing instance name";

std::string remote_only(const Context& ctx, const Args& args) {
    if (args.positional.empty()) return ctx.config.default_remote;
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (!name.empty()) throw Error("Invalid remote \"" + args.positional[0] + "\" (write it as <remote>:)");
    return remote;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto profiles = connect_remote(ctx.config, remote_only(ctx, args)).get("/1.0/profiles?recursion=1");
    if (!profiles.is_array()) profiles = json::array();
    std::vector<Row> rows;
    for (const auto& p : profiles) {
        auto used_by = p.value("used_by", json::array());
        rows.push_back({p.value("name", ""), p.value("description", ""),
                        std::to_string(used_by.is_array() ? used_by.size() : 0)});
    }
    sort_by_name(rows);
    KeyOrder order{{"[]", profile_key_order().at("")}};
    ctx.out << render_table(format, {"NAME", "DESCRIPTION", "USED BY"}, rows, profiles, order);
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    auto profile = connect_remote(ctx.config, remote).get(profile_path(name));
    ctx.out << to_yaml(profile, profile_key_order());
    return 0;
}

int run_create(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    // api.ProfilesPost with only the name: lxc sends null config and devices.
    connect_remote(ctx.config, remote)
        .query("POST", "/1.0/profiles", {{"config", nullptr}, {"description", ""}, {"devices", nullptr}, {"name", name}});
    ctx.out << "Profile " << name << " created\n";
    return 0;
}

int run_copy(Context& ctx, const Args& args) {
    auto [source_remote, source] = parse_remote(ctx.config, args.positional[0]);
    auto [dest_remote, dest] = parse_remote(ctx.config, args.positional[1]);
    if (source.empty()) throw Error("Missing source profile name");
    if (dest.empty()) dest = source;
    auto profile = connect_remote(ctx.config, source_remote).get(profile_path(source));
    auto post = profile_put(profile);
    post["name"] = dest;
    std::string path = "/1.0/profiles";
    if (args.has("target-project")) path += "?project=" + url_escape(args.value("target-project"));
    connect_remote(ctx.config, dest_remote).query("POST", path, post);
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    connect_remote(ctx.config, remote).query("DELETE", profile_path(name));
    ctx.out << "Profile " << name << " deleted\n";
    return 0;
}

int run_rename(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    connect_remote(ctx.config, remote).query("POST", profile_path(name), {{"name", args.positional[1]}});
    ctx.out << "Profile " << name << " renamed to " << args.positional[1] << "\n";
    return 0;
}

int run_get(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    auto config = connect_remote(ctx.config, remote).get(profile_path(name)).value("config", json::object());
    auto it = config.find(args.positional[1]);
    ctx.out << (it != config.end() && it->is_string() ? it->get<std::string>() : "") << "\n";
    return 0;
}

// set and unset: lxc reads the profile, changes its config and PUTs the
// writable part back; unset sends the key with an empty value, which the
// server drops.
int set_keys(Context& ctx, const std::string& arg, const std::map<std::string, std::string>& keys) {
    auto [remote, name] = named_target(ctx, arg, missing_profile);
    auto api = connect_remote(ctx.config, remote);
    auto put = profile_put(api.get(profile_path(name)));
    for (const auto& [k, v] : keys) put["config"][k] = v;
    put_profile(ctx, api, name, put);
    return 0;
}

int run_set(Context& ctx, const Args& args) {
    return set_keys(ctx, args.positional[0],
                    config_args(std::vector<std::string>(args.positional.begin() + 1, args.positional.end())));
}

int run_unset(Context& ctx, const Args& args) {
    return set_keys(ctx, args.positional[0], {{args.positional[1], ""}});
}

// --- edit ---

// api.ProfilePut from the YAML of `lxc profile edit`: name and used_by are
// shown but not taken.
json parse_profile_yaml(const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw Error(std::string("yaml: ") + e.what());
    }
    if (root && !root.IsNull() && !root.IsMap()) throw Error("yaml: the profile must be a map");
    json put = {{"config", nullptr}, {"description", ""}, {"devices", nullptr}};
    if (!root || root.IsNull()) return put;
    if (root["config"] && !root["config"].IsNull()) put["config"] = yaml_string_map(root["config"], "config");
    if (root["description"] && root["description"].IsScalar()) put["description"] = root["description"].Scalar();
    if (auto devices = root["devices"]; devices && !devices.IsNull()) {
        if (!devices.IsMap()) throw Error("yaml: devices must be a map");
        put["devices"] = json::object();
        for (const auto& d : devices)
            put["devices"][d.first.Scalar()] = yaml_string_map(d.second, "devices." + d.first.Scalar());
    }
    return put;
}

const char* edit_help = R"(### This is a YAML representation of the profile.
### Any line starting with a '# will be ignored.
###
### A profile consists of a set of configuration items followed by a set of
### devices.
###
### An example would look like:
### name: onenic
### config:
###   raw.lxc: lxc.aa_profile=unconfined
### devices:
###   eth0:
###     nictype: bridged
###     parent: lxdbr0
###     type: nic
###
### Note that the name is shown but cannot be changed)";

int run_edit(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_profile);
    auto api = connect_remote(ctx.config, remote);
    if (!::isatty(0)) {
        std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
        put_profile(ctx, api, name, parse_profile_yaml(text));
        return 0;
    }
    auto profile = api.get(profile_path(name));
    auto content = edit_text(std::string(edit_help) + "\n\n" + to_yaml(profile, profile_key_order()));
    // As lxc: a YAML or server error reopens the editor on the same text.
    for (;;) {
        try {
            put_profile(ctx, api, name, parse_profile_yaml(content));
            return 0;
        } catch (const Error& e) {
            ctx.err << "Config parsing error: " << e.what() << "\n";
            ctx.out << "Press enter to open the editor again or ctrl+c to abort change\n" << std::flush;
            char c;
            if (::read(0, &c, 1) != 1) throw;
            content = edit_text(content);
        }
    }
}

// --- the instance's profile list ---

// lxc GETs the instance, changes its profiles and PUTs InstancePut back.
void set_instance_profiles(Context& ctx, const std::string& remote, const std::string& instance,
                           const std::function<void(json&)>& change) {
    auto api = connect_remote(ctx.config, remote);
    auto put = instance_put(api.get(instance_path(instance)));
    change(put["profiles"]);
    put_instance(ctx, api, instance, put);
}

int run_assign(Context& ctx, const Args& args) {
    auto [remote, instance] = named_target(ctx, args.positional[0], missing_instance);
    const auto& list = args.positional[1];
    set_instance_profiles(ctx, remote, instance, [&](json& profiles) {
        profiles = json::array();
        // strings.Split: "a,,b" keeps the empty name, which the server refuses.
        size_t start = 0;
        while (!list.empty()) {
            const auto comma = list.find(',', start);
            profiles.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    });
    ctx.out << "Profiles " << (list.empty() ? "(none)" : list) << " applied to " << instance << "\n";
    return 0;
}

int run_add(Context& ctx, const Args& args) {
    auto [remote, instance] = named_target(ctx, args.positional[0], missing_instance);
    const auto& profile = args.positional[1];
    set_instance_profiles(ctx, remote, instance, [&](json& profiles) { profiles.push_back(profile); });
    ctx.out << "Profile " << profile << " added to " << instance << "\n";
    return 0;
}

int run_remove(Context& ctx, const Args& args) {
    auto [remote, instance] = named_target(ctx, args.positional[0], missing_instance);
    const auto& profile = args.positional[1];
    set_instance_profiles(ctx, remote, instance, [&](json& profiles) {
        json kept = json::array();
        for (const auto& p : profiles)
            if (p != profile) kept.push_back(p);
        if (kept.size() == profiles.size())
            throw Error("Profile " + profile + " isn't currently applied to " + instance);
        profiles = kept;
    });
    ctx.out << "Profile " << profile << " removed from " << instance << "\n";
    return 0;
}

} // namespace

void add_profile_commands(std::vector<Command>& t) {
    t.push_back({"profile list", {"ls"}, "[<remote>:]", "List profiles", 0, 1, {format_flag()}, run_list});
    t.push_back({"profile show", {}, "[<remote>:]<profile>", "Show profile configurations", 1, 1, {}, run_show});
    t.push_back({"profile create", {}, "[<remote>:]<profile>", "Create profiles", 1, 1, {}, run_create});
    t.push_back({"profile copy", {"cp"}, "[<remote>:]<profile> [<remote>:]<profile>", "Copy profiles", 2, 2,
                 {{"target-project", 0, true, "", "Copy to a project different from the source"}}, run_copy});
    t.push_back({"profile delete", {"rm"}, "[<remote>:]<profile>", "Delete profiles", 1, 1, {}, run_delete});
    t.push_back({"profile edit", {}, "[<remote>:]<profile>", "Edit profile configurations as YAML", 1, 1, {},
                 run_edit});
    t.push_back({"profile get", {}, "[<remote>:]<profile> <key>", "Get values for profile configuration keys", 2, 2,
                 {}, run_get});
    t.push_back({"profile set", {}, "[<remote>:]<profile> <key><value>...", "Set profile configuration keys", 2,
                 many, {}, run_set});
    t.push_back({"profile unset", {}, "[<remote>:]<profile> <key>", "Unset profile configuration keys", 2, 2, {},
                 run_unset});
    t.push_back({"profile rename", {"mv"}, "[<remote>:]<profile> <new-name>", "Rename profiles", 2, 2, {},
                 run_rename});
    t.push_back({"profile assign", {"apply"}, "[<remote>:]<instance> <profiles>",
                 "Assign sets of profiles to instances", 2, 2, {}, run_assign});
    t.push_back({"profile add", {}, "[<remote>:]<instance> <profile>", "Add profiles to instances", 2, 2, {},
                 run_add});
    t.push_back({"profile remove", {}, "[<remote>:]<instance> <profile>", "Remove profiles from instances", 2, 2, {},
                 run_remove});
}

} // namespace lodge::cli
