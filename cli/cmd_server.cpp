// The server's own verbs: `lodge info` (GET /1.0 as YAML, like `lxc info`)
// and `lodge config get/set/unset/show` on server keys (PATCH /1.0).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
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

// Splits `config get/set/unset` arguments into the remote and the rest:
// "prod: key" names the remote, "key" uses the default one. A first word
// that is neither (an instance) is refused until instances exist.
std::pair<std::string, std::vector<std::string>> remote_and_rest(const Context& ctx, const Args& args) {
    std::vector<std::string> rest = args.positional;
    std::string remote = ctx.config.default_remote;
    if (!rest.empty() && !rest[0].empty() && rest[0].back() == ':') {
        auto [r, name] = parse_remote(ctx.config, rest[0]);
        remote = r;
        rest.erase(rest.begin());
    }
    return {remote, rest};
}

json server_config(ApiClient& api) {
    auto server = api.get("/1.0");
    auto config = server.value("config", json::object());
    return config.is_object() ? config : json::object();
}

int run_config_get(Context& ctx, const Args& args) {
    auto [remote, rest] = remote_and_rest(ctx, args);
    if (rest.size() != 1) throw Error("'lodge config get' on an instance is not implemented yet (usage: lodge config get [<remote>:] <key>)");
    auto api = connect_remote(ctx.config, remote);
    auto config = server_config(api);
    // An unset key prints an empty line, as lxc does.
    auto it = config.find(rest[0]);
    ctx.out << (it == config.end() ? "" : it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
    return 0;
}

int run_config_set(Context& ctx, const Args& args) {
    auto [remote, rest] = remote_and_rest(ctx, args);
    json changes = json::object();
    if (rest.size() == 2 && rest[0].find('=') == std::string::npos) {
        changes[rest[0]] = rest[1];
    } else {
        for (const auto& kv : rest) {
            auto eq = kv.find('=');
            if (eq == std::string::npos)
                throw Error(rest.size() == 1 ? "Invalid number of arguments: give a value (lodge config set <key> <value>)"
                                             : "'lodge config set' on an instance is not implemented yet");
            if (eq == 0) throw Error("Invalid key=value configuration: empty key in \"" + kv + "\"");
            changes[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    if (changes.empty()) throw Error("Invalid number of arguments (usage: lodge config set [<remote>:] <key> <value>)");
    connect_remote(ctx.config, remote).query("PATCH", "/1.0", json{{"config", changes}});
    return 0;
}

int run_config_unset(Context& ctx, const Args& args) {
    auto [remote, rest] = remote_and_rest(ctx, args);
    if (rest.size() != 1) throw Error("'lodge config unset' on an instance is not implemented yet (usage: lodge config unset [<remote>:] <key>)");
    // LXD's rule: an empty value removes the key (lxc unset sends "").
    connect_remote(ctx.config, remote).query("PATCH", "/1.0", json{{"config", {{rest[0], ""}}}});
    return 0;
}

int run_config_show(Context& ctx, const Args& args) {
    auto remote = server_remote(ctx, args, 0, "config show");
    auto api = connect_remote(ctx.config, remote);
    ctx.out << to_yaml(json{{"config", server_config(api)}});
    return 0;
}

} // namespace

void add_server_commands(std::vector<Command>& t) {
    t.push_back({"info", {}, "[<remote>:]", "Show the server's information (config, API extensions, environment)", 0, 1,
                 {}, run_info});
    t.push_back({"config get", {}, "[<remote>:] <key>", "Get values for server configuration keys", 1, 2, {},
                 run_config_get});
    t.push_back({"config set", {}, "[<remote>:] <key> <value> | <key>=<value>...",
                 "Set server configuration keys", 1, many, {}, run_config_set});
    t.push_back({"config show", {}, "[<remote>:]", "Show the server configuration", 0, 1, {}, run_config_show});
    t.push_back({"config unset", {}, "[<remote>:] <key>", "Unset server configuration keys", 1, 2, {},
                 run_config_unset});
}

} // namespace lodge::cli
