// The server's own verbs: `lodge info` (GET /1.0 as YAML, like `lxc info`)
// and `lodge config get/set/unset/show` on server keys (PATCH /1.0).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/instances.hpp"
#include "cli/yaml_output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

// "[remote:]" arguments: the remote named, the default when absent. An
// instance name there means an instance verb this slice lacks.
std::string server_remote(const Context& ctx, const Args& args, size_t index, const std::string& verb) {
    if (args.positional.size() <= index) return ctx.config.default_remote;
    auto [remote, name] = parse_remote(ctx.config, args.positional[index]);
    if (!name.empty()) throw Error("'lodge " + verb + "' on an instance is not implemented yet");
    return remote;
}

int run_info(Context& ctx, const Args& args) {
    if (!args.positional.empty() && !parse_remote(ctx.config, args.positional[0]).second.empty())
        return show_instance_info(ctx, args.positional[0], args.has("show-log"));
    auto remote = server_remote(ctx, args, 0, "info");
    auto server = connect_remote(ctx.config, remote).get("/1.0");
    // LXD's Go struct has no json tags for these ("Name") but yaml prints
    // field names lower-cased ("name"), and lxc info prints YAML.
    if (server.contains("environment") && server["environment"].contains("storage_supported_drivers")) {
        for (auto& d : server["environment"]["storage_supported_drivers"]) {
            if (!d.is_object()) continue;
            json lowered = json::object();
            for (auto& [k, v] : d.items()) {
                std::string key = k;
                for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                lowered[key] = v;
            }
            d = lowered;
        }
    }
    ctx.out << to_yaml(server, server_key_order());
    return 0;
}

// Splits `config get/set/unset` arguments into the remote, the instance
// (empty for the server's own keys) and the rest. "prod:" names a remote,
// "prod:web1" or a leading name the key/value arity leaves over an instance.
struct ConfigTarget {
    std::string remote;
    std::string instance;
    std::vector<std::string> rest;
};

ConfigTarget config_target(const Context& ctx, const Args& args, size_t server_arity) {
    ConfigTarget t{ctx.config.default_remote, "", args.positional};
    if (t.rest.empty()) return t;
    const auto& first = t.rest[0];
    const bool names_remote = first.find(':') != std::string::npos;
    const bool instance_by_arity = !names_remote && first.find('=') == std::string::npos &&
                                   (t.rest.size() > server_arity ||
                                    (t.rest.size() >= 2 && t.rest[1].find('=') != std::string::npos));
    if (names_remote) {
        auto [r, name] = parse_remote(ctx.config, first);
        t.remote = r;
        t.instance = name;
        t.rest.erase(t.rest.begin());
    } else if (instance_by_arity) {
        t.instance = first;
        t.rest.erase(t.rest.begin());
    }
    return t;
}

std::string instance_url(const std::string& name) { return "/1.0/instances/" + url_escape(name); }

// PUT of the instance with the changed keys (null removes one), as lxc
// does: read, change, write the whole object back, wait for it.
int set_instance_config(Context& ctx, const std::string& remote, const std::string& instance, const json& changes) {
    auto api = connect_remote(ctx.config, remote);
    auto object = api.get(instance_url(instance));
    auto& config = object["config"];
    if (!config.is_object()) config = json::object();
    for (auto& [k, v] : changes.items()) {
        if (v.is_null()) {
            if (!config.contains(k)) throw Error("Can't unset key '" + k + "', it's not currently set");
            config.erase(k);
        } else {
            config[k] = v;
        }
    }
    api.wait(api.query("PUT", instance_url(instance), object));
    return 0;
}

json server_config(ApiClient& api) {
    auto server = api.get("/1.0");
    auto config = server.value("config", json::object());
    return config.is_object() ? config : json::object();
}

int run_config_get(Context& ctx, const Args& args) {
    auto [remote, instance, rest] = config_target(ctx, args, 1);
    if (rest.size() != 1) throw Error("Invalid number of arguments (usage: lodge config get [<remote>:][<instance>] <key>)");
    auto api = connect_remote(ctx.config, remote);
    auto config = instance.empty() ? server_config(api) : api.get(instance_url(instance)).value("config", json::object());
    // An unset key prints an empty line, as lxc does.
    auto it = config.find(rest[0]);
    ctx.out << (it == config.end() ? "" : it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
    return 0;
}

int run_config_set(Context& ctx, const Args& args) {
    auto [remote, instance, rest] = config_target(ctx, args, 2);
    json changes = json::object();
    if (rest.size() == 2 && rest[0].find('=') == std::string::npos) {
        changes[rest[0]] = rest[1];
    } else {
        for (const auto& kv : rest) {
            auto eq = kv.find('=');
            if (eq == std::string::npos)
                throw Error("Invalid number of arguments: give a value (lodge config set [<instance>] <key> <value>)");
            if (eq == 0) throw Error("Invalid key=value configuration: empty key in \"" + kv + "\"");
            changes[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    if (changes.empty()) throw Error("Invalid number of arguments (usage: lodge config set [<remote>:][<instance>] <key> <value>)");
    if (!instance.empty()) return set_instance_config(ctx, remote, instance, changes);
    connect_remote(ctx.config, remote).query("PATCH", "/1.0", json{{"config", changes}});
    return 0;
}

int run_config_unset(Context& ctx, const Args& args) {
    auto [remote, instance, rest] = config_target(ctx, args, 1);
    if (rest.size() != 1) throw Error("Invalid number of arguments (usage: lodge config unset [<remote>:][<instance>] <key>)");
    if (!instance.empty()) return set_instance_config(ctx, remote, instance, json{{rest[0], nullptr}});
    // LXD's rule: an empty value removes the key (lxc unset sends "").
    connect_remote(ctx.config, remote).query("PATCH", "/1.0", json{{"config", {{rest[0], ""}}}});
    return 0;
}

int run_config_show(Context& ctx, const Args& args) {
    if (!args.positional.empty() && !parse_remote(ctx.config, args.positional[0]).second.empty())
        return show_instance_config(ctx, args.positional[0], args.has("expanded"));
    auto remote = server_remote(ctx, args, 0, "config show");
    auto api = connect_remote(ctx.config, remote);
    ctx.out << to_yaml(json{{"config", server_config(api)}});
    return 0;
}

} // namespace

void add_server_commands(std::vector<Command>& t) {
    t.push_back({"info", {}, "[<remote>:][<instance>]", "Show instance or server information", 0, 1,
                 {{"show-log", 0, false, "", "Show the instance's recent log entries"}}, run_info});
    t.push_back({"config get", {}, "[<remote>:][<instance>] <key>", "Get values for instance or server configuration keys", 1, 2, {},
                 run_config_get});
    t.push_back({"config set", {}, "[<remote>:][<instance>] <key> <value> | <key>=<value>...",
                 "Set instance or server configuration keys", 1, many, {}, run_config_set});
    t.push_back({"config show", {}, "[<remote>:][<instance>]", "Show instance or server configurations", 0, 1,
                 {{"expanded", 'e', false, "", "Show the expanded configuration"}}, run_config_show});
    t.push_back({"config unset", {}, "[<remote>:][<instance>] <key>", "Unset instance or server configuration keys", 1, 2, {},
                 run_config_unset});
}

} // namespace lodge::cli
