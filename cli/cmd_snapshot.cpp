// Snapshots and copies: `lodge snapshot`, `restore` and `copy`, with lxc's
// arguments and behaviour.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string instance_path(const std::string& name) { return "/1.0/instances/" + url_escape(name); }

int run_snapshot(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing instance name");
    if (name.find('/') != std::string::npos) throw Error("Invalid instance name: " + name);
    auto api = connect_remote(ctx.config, remote);
    json body = {{"name", args.positional.size() > 1 ? args.positional[1] : ""}, {"stateful", args.has("stateful")},
                 {"expires_at", nullptr}};
    // --no-expiry: Go's zero time, which the server takes as "never".
    if (args.has("no-expiry")) body["expires_at"] = "0001-01-01T00:00:00Z";
    if (args.has("reuse") && args.positional.size() > 1) {
        const auto snap = instance_path(name) + "/snapshots/" + url_escape(args.positional[1]);
        if (api.raw("GET", snap).status == 200) api.wait(api.query("DELETE", snap));
    }
    api.wait(api.query("POST", instance_path(name) + "/snapshots", body));
    return 0;
}

int run_restore(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing instance name");
    auto snap = args.positional[1];
    // lxc takes "snap" or "instance/snap".
    if (auto slash = snap.find('/'); slash != std::string::npos) snap = snap.substr(slash + 1);
    auto api = connect_remote(ctx.config, remote);
    api.wait(api.query("PUT", instance_path(name), {{"restore", snap}, {"stateful", args.has("stateful")}}));
    return 0;
}

// The source's config, devices and profiles go with the copy, as lxc sends
// them; -c and -p override, --no-profiles drops them.
int run_copy(Context& ctx, const Args& args) {
    auto [src_remote, src] = parse_remote(ctx.config, args.positional[0]);
    if (src.empty()) throw Error("Missing source instance name");
    std::string dst_remote = src_remote, dst;
    if (args.positional.size() > 1) std::tie(dst_remote, dst) = parse_remote(ctx.config, args.positional[1]);
    if (dst_remote != src_remote) throw Error("Copying instances between remotes is not supported yet");
    auto api = connect_remote(ctx.config, src_remote);
    const auto slash = src.find('/');
    const auto source = slash == std::string::npos
                            ? api.get(instance_path(src))
                            : api.get(instance_path(src.substr(0, slash)) + "/snapshots/" +
                                      url_escape(src.substr(slash + 1)));
    json config = json::object();
    for (const auto& [k, v] : source.value("config", json::object()).items())
        if (k.rfind("volatile.", 0) != 0) config[k] = v;
    for (const auto& kv : args.values_of("config")) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("Bad key=value pair: " + kv);
        config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    json profiles = source.value("profiles", json::array());
    if (!args.values_of("profile").empty()) profiles = args.values_of("profile");
    if (args.has("no-profiles")) profiles = json::array();
    json devices = source.value("devices", json::object());
    if (!args.value("storage").empty()) {
        // The root disk goes to the pool asked for.
        devices["root"] = {{"type", "disk"}, {"path", "/"}, {"pool", args.value("storage")}};
    }
    const auto base = source.value("config", json::object()).value("volatile.base_image", "");
    json body = {{"name", dst},
                 {"architecture", source.value("architecture", "")},
                 {"config", config},
                 {"devices", devices},
                 {"profiles", profiles},
                 {"ephemeral", args.has("ephemeral") || source.value("ephemeral", false)},
                 {"source",
                  {{"type", "copy"}, {"source", src}, {"base-image", base},
                   {"instance_only", args.has("instance-only")}}}};
    auto op = api.wait(api.query("POST", "/1.0/instances", body));
    if (args.has("start")) {
        std::string name = dst;
        if (name.empty()) {
            // The server picked the name: the operation lists the new instance.
            for (const auto& url : op.value("resources", json::object()).value("instances", json::array()))
                name = url.get<std::string>().substr(url.get<std::string>().rfind('/') + 1);
        }
        api.wait(api.query("PUT", instance_path(name) + "/state", {{"action", "start"}, {"timeout", -1}}));
    }
    return 0;
}

} // namespace

void add_snapshot_commands(std::vector<Command>& t) {
    t.push_back({"snapshot", {}, "[<remote>:]<instance> [<snapshot name>]", "Create instance snapshots", 1, 2,
                 {{"stateful", 0, false, "", "Whether or not to snapshot the instance's running state"},
                  {"reuse", 0, false, "", "If the snapshot name already exists, delete and create a new one"},
                  {"no-expiry", 0, false, "", "Ignore any configured auto-expiry for the instance"}},
                 run_snapshot});
    t.push_back({"restore", {}, "[<remote>:]<instance> <snapshot>", "Restore instances from snapshots", 2, 2,
                 {{"stateful", 0, false, "", "Whether or not to restore the instance's running state from snapshot"}},
                 run_restore});
    t.push_back({"copy", {"cp"}, "[<remote>:]<source>[/<snapshot>] [[<remote>:]<destination>]",
                 "Copy instances within or in between LXD servers", 1, 2,
                 {{"config", 'c', true, "", "Config key/value to apply to the new instance"},
                  {"profile", 'p', true, "", "Profile to apply to the new instance"},
                  {"storage", 's', true, "", "Storage pool name"},
                  {"ephemeral", 'e', false, "", "Ephemeral instance"},
                  {"instance-only", 0, false, "", "Copy the instance without its snapshots"},
                  {"no-profiles", 0, false, "", "Create the instance with no profiles applied"},
                  {"start", 0, false, "", "Start instance after copy"}},
                 run_copy});
}

} // namespace lodge::cli
