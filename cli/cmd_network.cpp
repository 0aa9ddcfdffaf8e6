// `lodge network ...`: list, show, create, delete, rename, get/set/unset,
// edit, info, list-leases, and attach/detach of NICs on instances and
// profiles, with lxc 5.0.2's requests and output (lxc/network.go; the
// formatting is network_output.cpp).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/network_output.hpp"
#include "cli/object_updates.hpp"
#include "cli/output.hpp"
#include "cli/text_editor.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <optional>
#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

constexpr const char* missing_network = "Missing network name";

std::string network_path(const std::string& name) { return "/1.0/networks/" + url_escape(name); }

std::optional<std::string> optional_arg(const Args& args, size_t i) {
    if (i < args.positional.size()) return args.positional[i];
    return std::nullopt;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    std::string remote = ctx.config.default_remote;
    if (!args.positional.empty()) {
        auto [r, name] = parse_remote(ctx.config, args.positional[0]);
        if (!name.empty()) throw Error("Filtering isn't supported yet");
        remote = r;
    }
    auto networks = connect_remote(ctx.config, remote).get("/1.0/networks?recursion=1");
    if (!networks.is_array()) networks = json::array();
    ctx.out << network_list(format, networks);
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    ctx.out << network_yaml(connect_remote(ctx.config, remote).get(network_path(name)));
    return 0;
}

int run_create(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    json config = json::object();
    for (size_t i = 1; i < args.positional.size(); ++i) {
        const auto& kv = args.positional[i];
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw Error("Bad key/value pair: " + kv);
        config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    // api.NetworksPost; an empty type is the server's default, a bridge.
    connect_remote(ctx.config, remote)
        .query("POST", "/1.0/networks",
               {{"config", config}, {"description", args.value("description")}, {"name", name},
                {"type", args.value("type")}});
    ctx.out << "Network " << name << " created\n";
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    connect_remote(ctx.config, remote).query("DELETE", network_path(name));
    ctx.out << "Network " << name << " deleted\n";
    return 0;
}

int run_rename(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    connect_remote(ctx.config, remote).query("POST", network_path(name), {{"name", args.positional[1]}});
    ctx.out << "Network " << name << " renamed to " << args.positional[1] << "\n";
    return 0;
}

int run_get(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    auto config = connect_remote(ctx.config, remote).get(network_path(name)).value("config", json());
    // As lxc: a key that isn't set prints nothing at all.
    if (config.is_object() && config.contains(args.positional[1]) && config[args.positional[1]].is_string())
        ctx.out << config[args.positional[1]].get<std::string>() << "\n";
    return 0;
}

int run_info(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    ctx.out << network_info(name, connect_remote(ctx.config, remote).get(network_path(name) + "/state"));
    return 0;
}

int run_list_leases(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    auto leases = connect_remote(ctx.config, remote).get(network_path(name) + "/leases");
    if (!leases.is_array()) leases = json::array();
    ctx.out << lease_list(format, leases);
    return 0;
}

// api.NetworkPut of a network: what PUT takes.
json network_put(const json& network) {
    auto config = network.value("config", json::object());
    return {{"config", config.is_object() ? config : json::object()},
            {"description", network.value("description", "")}};
}

// set and unset: lxc reads the network, changes its config and PUTs the
// writable part back. An unset key is left out rather than sent as "" (the
// same outcome on LXD, and lodged need not treat "" as absent).
void update_network(Context& ctx, const std::string& arg, const std::map<std::string, std::string>& keys,
                    bool unset) {
    auto [remote, name] = named_target(ctx, arg, missing_network);
    auto api = connect_remote(ctx.config, remote);
    auto network = api.get(network_path(name));
    if (!network.value("managed", false)) throw Error("Only managed networks can be modified");
    auto put = network_put(network);
    for (const auto& [k, v] : keys) {
        if (unset) put["config"].erase(k);
        else put["config"][k] = v;
    }
    api.query("PUT", network_path(name), put);
}

int run_set(Context& ctx, const Args& args) {
    update_network(ctx, args.positional[0],
                   config_args(std::vector<std::string>(args.positional.begin() + 1, args.positional.end())), false);
    return 0;
}

int run_unset(Context& ctx, const Args& args) {
    update_network(ctx, args.positional[0], {{args.positional[1], ""}}, true);
    return 0;
}

const char* edit_help = R"(### This is a YAML representation of the network.
### Any line starting with a '# will be ignored.
###
### A network consists of a set of configuration items.
###
### An example would look like:
### name: lxdbr0
### config:
###   ipv4.address: 10.62.42.1/24
###   ipv4.nat: true
###   ipv6.address: fd00:56ad:9f7a:9800::1/64
###   ipv6.nat: true
### managed: true
### type: bridge
###
### Note that only the configuration can be changed.)";

int run_edit(Context& ctx, const Args& args) {
    auto [remote, name] = named_target(ctx, args.positional[0], missing_network);
    auto api = connect_remote(ctx.config, remote);
    // Piped YAML is sent as it is, as lxc does (no managed check: the
    // server refuses what it cannot change).
    if (!::isatty(0)) {
        std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
        api.query("PUT", network_path(name), parse_network_yaml(text));
        return 0;
    }
    auto network = api.get(network_path(name));
    if (!network.value("managed", false)) throw Error("Only managed networks can be modified");
    auto content = edit_text(std::string(edit_help) + "\n\n" + network_yaml(network, false));
    // As lxc: a YAML or server error reopens the editor on the same text.
    for (;;) {
        try {
            api.query("PUT", network_path(name), parse_network_yaml(content));
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

// --- NICs on instances and profiles ---

bool has_extension(ApiClient& api, const std::string& name) {
    auto extensions = api.get("/1.0").value("api_extensions", json::array());
    return extensions.is_array() && std::find(extensions.begin(), extensions.end(), name) != extensions.end();
}

// A new device in a devices map, refused when the name is taken (lxc's
// instanceDeviceAdd and profileDeviceAdd).
void add_device(json& devices, const std::string& name, const json& device) {
    if (!devices.is_object()) devices = json::object();
    if (devices.contains(name)) throw Error("Device already exists: " + name);
    devices[name] = device;
}

int run_attach(Context& ctx, const Args& args) {
    auto [remote, net] = named_target(ctx, args.positional[0], missing_network);
    const auto& instance = args.positional[1];
    auto api = connect_remote(ctx.config, remote);
    const bool nic_network = has_extension(api, "instance_nic_network");
    auto device = instance_nic_for(api.get(network_path(net)), nic_network, optional_arg(args, 3));
    auto put = instance_put(api.get(instance_path(instance)));
    add_device(put["devices"], optional_arg(args, 2).value_or(net), device);
    put_instance(ctx, api, instance, put);
    return 0;
}

int run_attach_profile(Context& ctx, const Args& args) {
    auto [remote, net] = named_target(ctx, args.positional[0], missing_network);
    const auto& profile = args.positional[1];
    auto api = connect_remote(ctx.config, remote);
    auto device = profile_nic_for(api.get(network_path(net)), optional_arg(args, 3));
    auto put = profile_put(api.get(profile_path(profile)));
    add_device(put["devices"], optional_arg(args, 2).value_or(net), device);
    put_profile(ctx, api, profile, put);
    return 0;
}

int run_detach(Context& ctx, const Args& args) {
    auto [remote, net] = named_target(ctx, args.positional[0], missing_network);
    const auto& instance = args.positional[1];
    auto api = connect_remote(ctx.config, remote);
    auto put = instance_put(api.get(instance_path(instance)));
    put["devices"].erase(nic_to_detach(put["devices"], net, optional_arg(args, 2)));
    put_instance(ctx, api, instance, put);
    return 0;
}

int run_detach_profile(Context& ctx, const Args& args) {
    auto [remote, net] = named_target(ctx, args.positional[0], missing_network);
    const auto& profile = args.positional[1];
    auto api = connect_remote(ctx.config, remote);
    auto put = profile_put(api.get(profile_path(profile)));
    put["devices"].erase(nic_to_detach(put["devices"], net, optional_arg(args, 2)));
    put_profile(ctx, api, profile, put);
    return 0;
}

} // namespace

void add_network_commands(std::vector<Command>& t) {
    t.push_back({"network list", {"ls"}, "[<remote>:]", "List available networks", 0, 1, {format_flag()}, run_list});
    t.push_back({"network show", {}, "[<remote>:]<network>", "Show network configurations", 1, 1, {}, run_show});
    t.push_back({"network create", {}, "[<remote>:]<network> [key=value...]", "Create new networks", 1, many,
                 {{"type", 't', true, "", "Network type"}, {"description", 0, true, "", "Network description"}},
                 run_create});
    t.push_back({"network delete", {"rm"}, "[<remote>:]<network>", "Delete networks", 1, 1, {}, run_delete});
    t.push_back({"network rename", {"mv"}, "[<remote>:]<network> <new-name>", "Rename networks", 2, 2, {},
                 run_rename});
    t.push_back({"network get", {}, "[<remote>:]<network> <key>", "Get values for network configuration keys", 2, 2,
                 {}, run_get});
    t.push_back({"network set", {}, "[<remote>:]<network> <key>=<value>...", "Set network configuration keys", 2,
                 many, {}, run_set});
    t.push_back({"network unset", {}, "[<remote>:]<network> <key>", "Unset network configuration keys", 2, 2, {},
                 run_unset});
    t.push_back({"network edit", {}, "[<remote>:]<network>", "Edit network configurations as YAML", 1, 1, {},
                 run_edit});
    t.push_back({"network info", {}, "[<remote>:]<network>", "Get runtime information on networks", 1, 1, {},
                 run_info});
    t.push_back({"network list-leases", {}, "[<remote>:]<network>", "List DHCP leases", 1, 1, {format_flag()},
                 run_list_leases});
    t.push_back({"network attach", {}, "[<remote>:]<network> <instance> [<device name>] [<interface name>]",
                 "Attach network interfaces to instances", 2, 4, {}, run_attach});
    t.push_back({"network attach-profile", {}, "[<remote>:]<network> <profile> [<device name>] [<interface name>]",
                 "Attach network interfaces to profiles", 2, 4, {}, run_attach_profile});
    t.push_back({"network detach", {}, "[<remote>:]<network> <instance> [<device name>]",
                 "Detach network interfaces from instances", 2, 3, {}, run_detach});
    t.push_back({"network detach-profile", {}, "[<remote>:]<network> <profile> [<device name>]",
                 "Detach network interfaces from profiles", 2, 3, {}, run_detach_profile});
}

} // namespace lodge::cli
