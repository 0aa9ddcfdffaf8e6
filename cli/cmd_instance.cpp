// Instance verbs: launch, init, start, stop, restart, pause, delete, rename
// and `info NAME`, with lxc's arguments, flags and output.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/instances.hpp"
#include "cli/progress.hpp"
#include "cli/table.hpp"
#include "cli/yaml_output.hpp"

#include <ctime>
#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

struct Target {
    std::string remote;
    std::string name;
};

Target target(const Context& ctx, const std::string& arg) {
    auto [remote, name] = parse_remote(ctx.config, arg);
    if (name.empty()) throw Error("Missing instance name in \"" + arg + "\"");
    return {remote, name};
}

std::string instance_path(const std::string& name) { return "/1.0/instances/" + url_escape(name); }

json config_pairs(const Args& args) {
    json config = json::object();
    for (const auto& kv : args.values_of("config")) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("Bad key=value pair: " + kv);
        config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return config;
}

// launch and init: create from an image (or empty), optionally start.
int create(Context& ctx, const Args& args, bool start) {
    const bool empty = args.has("empty");
    std::string image_arg, name_arg;
    if (empty) {
        if (args.positional.size() > 1) throw Error("--empty cannot be combined with an image name");
        if (!args.positional.empty()) name_arg = args.positional[0];
    } else {
        if (args.positional.empty()) throw Error("Missing image name (or use --empty)");
        image_arg = args.positional[0];
        if (args.positional.size() > 1) name_arg = args.positional[1];
    }
    std::string remote = ctx.config.default_remote, name;
    if (!name_arg.empty()) std::tie(remote, name) = parse_remote(ctx.config, name_arg);
    auto api = connect_remote(ctx.config, remote);

    json source = {{"type", empty ? "none" : "image"}};
    if (!empty) {
        auto [image_remote, image] = parse_remote(ctx.config, image_arg);
        const auto& from = ctx.config.remotes.at(image_remote);
        if (image_remote != remote && from.protocol == "simplestreams") {
            // The server pulls the image itself, as lxc asks LXD to.
            source["mode"] = "pull";
            source["server"] = from.addr;
            source["protocol"] = "simplestreams";
        } else if (image_remote != remote) {
            throw Error("Images from another remote (\"" + image_remote + "\") are not supported yet; "
                        "copy the image first");
        }
        source["alias"] = image;
    }
    json body = {{"name", name}, {"source", source}, {"config", config_pairs(args)}, {"devices", json::object()},
                 {"ephemeral", args.has("ephemeral")}, {"type", "container"}};
    if (args.has("profile") || args.has("no-profiles")) body["profiles"] = args.values_of("profile");
    if (args.has("storage"))
        body["devices"]["root"] = {{"type", "disk"}, {"path", "/"}, {"pool", args.value("storage")}};

    ctx.out << (name.empty() ? std::string("Creating the instance") : "Creating " + name) << "\n" << std::flush;
    // An image pulled from a server shows its download, as with lxc.
    auto op = wait_with_progress(ctx, api, api.query("POST", "/1.0/instances", body), "Retrieving image");
    if (name.empty()) {
        // The server picked the name; it is the instance the operation names.
        for (const auto& url : op.value("resources", json::object()).value("instances", json::array()))
            name = url.get<std::string>().substr(url.get<std::string>().rfind('/') + 1);
        ctx.out << "Instance name is: " << name << "\n";
    }
    if (!start) return 0;
    ctx.out << "Starting " << name << "\n" << std::flush;
    json state = {{"action", "start"}, {"timeout", -1}, {"force", false}, {"stateful", false}};
    if (args.has("wait")) state["wait"] = true;
    api.wait(api.query("PUT", instance_path(name) + "/state", state));
    return 0;
}

int run_launch(Context& ctx, const Args& args) { return create(ctx, args, true); }
int run_init(Context& ctx, const Args& args) { return create(ctx, args, false); }

// start, stop, restart, pause on every instance named; the first failure
// is reported with the instance's name, as lxc does.
int change_state(Context& ctx, const Args& args, const std::string& action) {
    for (const auto& arg : args.positional) {
        auto t = target(ctx, arg);
        auto api = connect_remote(ctx.config, t.remote);
        json body = {{"action", action}, {"timeout", -1}, {"force", false}, {"stateful", false}};
        if (args.values.count("force")) body["force"] = args.has("force");
        if (args.has("timeout")) body["timeout"] = std::stoi(args.value("timeout"));
        if (args.has("wait")) body["wait"] = true;
        // `lodge start` of a paused instance resumes it, as lxc does.
        if (action == "start") {
            auto state = api.get(instance_path(t.name) + "/state");
            if (state.value("status", "") == "Frozen") body["action"] = "unfreeze";
        }
        try {
            api.wait(api.query("PUT", instance_path(t.name) + "/state", body));
        } catch (const Error& e) {
            throw Error(std::string(e.what()) + "\nTry `lodge info --show-log " + arg + "` for more info");
        }
    }
    return 0;
}

int run_start(Context& ctx, const Args& args) { return change_state(ctx, args, "start"); }
int run_stop(Context& ctx, const Args& args) { return change_state(ctx, args, "stop"); }
int run_restart(Context& ctx, const Args& args) { return change_state(ctx, args, "restart"); }
int run_pause(Context& ctx, const Args& args) { return change_state(ctx, args, "freeze"); }

int run_delete(Context& ctx, const Args& args) {
    for (const auto& arg : args.positional) {
        auto t = target(ctx, arg);
        auto api = connect_remote(ctx.config, t.remote);
        auto state = api.get(instance_path(t.name) + "/state");
        if (state.value("status", "") != "Stopped") {
            if (!args.has("force"))
                throw Error("The instance is currently running, stop it first or pass --force");
            api.wait(api.query("PUT", instance_path(t.name) + "/state",
                               {{"action", "stop"}, {"timeout", -1}, {"force", true}, {"stateful", false}}));
        }
        api.wait(api.query("DELETE", instance_path(t.name)));
    }
    return 0;
}

int run_rename(Context& ctx, const Args& args) {
    auto from = target(ctx, args.positional[0]);
    auto to = parse_remote(ctx.config, args.positional[1]);
    if (to.first != from.remote) throw Error("Moving instances between remotes is not supported yet");
    auto api = connect_remote(ctx.config, from.remote);
    api.wait(api.query("POST", instance_path(from.name), {{"name", to.second}}));
    return 0;
}

// Sizes as lxc prints them: 1024-based with two decimals ("508.00KiB").
std::string human_bytes(double v) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%s", v, units[u]);
    return buf;
}

// "2026-11-24T04:38:01.12Z" -> "2026/11/24 04:38 UTC", lxc's layout.
std::string short_time(const std::string& rfc3339) {
    if (rfc3339.size() < 16 || rfc3339.rfind("0001-", 0) == 0 || rfc3339.rfind("1970-", 0) == 0) return "";
    return rfc3339.substr(0, 4) + "/" + rfc3339.substr(5, 2) + "/" + rfc3339.substr(8, 2) + " " +
           rfc3339.substr(11, 5) + " UTC";
}

} // namespace

// `lodge info NAME`: the instance as `lxc info NAME` shows it.
int show_instance_info(Context& ctx, const std::string& arg, bool show_log) {
    auto t = target(ctx, arg);
    auto api = connect_remote(ctx.config, t.remote);
    auto inst = api.get(instance_path(t.name) + "?recursion=1");
    auto state = inst.value("state", json::object());
    std::string status = inst.value("status", "");
    for (auto& c : status) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto& out = ctx.out;
    out << "Name: " << inst.value("name", "") << "\n";
    out << "Status: " << status << "\n";
    out << "Type: " << inst.value("type", "container") << (inst.value("ephemeral", false) ? " (ephemeral)" : "")
        << "\n";
    out << "Architecture: " << inst.value("architecture", "") << "\n";
    if (state.value("pid", 0) > 0) out << "PID: " << state.value("pid", 0) << "\n";
    out << "Created: " << short_time(inst.value("created_at", "")) << "\n";
    if (auto used = short_time(inst.value("last_used_at", "")); !used.empty()) out << "Last Used: " << used << "\n";
    // lodge's own line (lxc has none): what opting out of the user
    // namespace costs on a host without an LSM.
    if (const auto cfg = inst.value("expanded_config", json::object());
        cfg.is_object() && (cfg.value("security.privileged", "") == "true" || cfg.value("security.privileged", "") == "1"))
        out << "Security: privileged: no user namespace, so root inside is root on the host; with no LSM here it "
               "could remount /proc/sys and /sys writable. The seccomp deny list, capability drops, cgroup "
               "namespace and device cgroup still apply.\n";
    if (status != "STOPPED") {
        out << "\nResources:\n";
        out << "  Processes: " << state.value("processes", 0) << "\n";
        const auto cpu = state.value("cpu", json::object()).value("usage", 0.0);
        out << "  CPU usage:\n    CPU usage (in seconds): " << static_cast<long long>(cpu / 1e9) << "\n";
        auto mem = state.value("memory", json::object());
        out << "  Memory usage:\n";
        out << "    Memory (current): " << human_bytes(mem.value("usage", 0.0)) << "\n";
        out << "    Memory (peak): " << human_bytes(mem.value("usage_peak", 0.0)) << "\n";
    }
    // lxc's snapshot table: short name, taken, expires, stateful.
    if (auto snaps = inst.value("snapshots", json::array()); snaps.is_array() && !snaps.empty()) {
        std::vector<Row> rows;
        for (const auto& s : snaps) {
            auto name = s.value("name", "");
            name = name.substr(name.rfind('/') + 1);
            auto taken = short_time(s.value("created_at", "")), expires = short_time(s.value("expires_at", ""));
            rows.push_back({name, taken.empty() ? " " : taken, expires.empty() ? " " : expires,
                            s.value("stateful", false) ? "YES" : "NO"});
        }
        out << "\nSnapshots:\n" << render_table("table", {"NAME", "TAKEN AT", "EXPIRES AT", "STATEFUL"}, rows, snaps);
    }
    if (show_log) {
        // The monitor's log, which lodged serves as LXD serves liblxc's.
        auto log = connect_remote(ctx.config, t.remote).raw("GET", instance_path(t.name) + "/logs/lxc.log");
        if (log.status >= 400) throw Error("Log file \"lxc.log\" not found");
        out << "\nLog:\n\n" << log.body << "\n";
    }
    return 0;
}

int show_instance_config(Context& ctx, const std::string& arg, bool expanded) {
    auto t = target(ctx, arg);
    auto inst = connect_remote(ctx.config, t.remote).get(instance_path(t.name));
    json out = {{"architecture", inst["architecture"]}, {"config", inst["config"]}, {"devices", inst["devices"]},
                {"ephemeral", inst["ephemeral"]}, {"profiles", inst["profiles"]}, {"stateful", inst["stateful"]},
                {"description", inst["description"]}};
    if (expanded) {
        out["config"] = inst["expanded_config"];
        out["devices"] = inst["expanded_devices"];
    }
    ctx.out << to_yaml(out, instance_put_key_order());
    return 0;
}

void add_instance_commands(std::vector<Command>& t) {
    const std::vector<Flag> create_flags = {
        {"config", 'c', true, "", "Config key/value to apply to the new instance"},
        {"profile", 'p', true, "", "Profile to apply to the new instance"},
        {"storage", 's', true, "", "Storage pool name"},
        {"ephemeral", 'e', false, "", "Ephemeral instance"},
        {"no-profiles", 0, false, "", "Create the instance with no profiles applied"},
        {"wait", 0, false, "", "Return once the guest is up (its init has settled)"},
    };
    auto init_flags = create_flags;
    init_flags.push_back({"empty", 0, false, "", "Create an empty instance"});
    t.push_back({"launch", {}, "[<remote>:]<image> [<remote>:][<name>]", "Create and start instances from images",
                 1, 2, create_flags, run_launch});
    t.push_back({"init", {"create"}, "[<remote>:]<image> [<remote>:][<name>]", "Create instances from images", 0, 2,
                 init_flags, run_init});
    t.push_back({"start", {}, "[<remote>:]<instance> [[<remote>:]<instance>...]", "Start instances", 1, many,
                 {{"wait", 0, false, "", "Return once the guest is up"}}, run_start});
    t.push_back({"stop", {}, "[<remote>:]<instance> [[<remote>:]<instance>...]", "Stop instances", 1, many,
                 {{"force", 'f', false, "", "Force the instance to stop"},
                  {"timeout", 0, true, "-1", "Time to wait for the instance to shutdown cleanly"}},
                 run_stop});
    t.push_back({"restart", {}, "[<remote>:]<instance> [[<remote>:]<instance>...]", "Restart instances", 1, many,
                 {{"force", 'f', false, "", "Force the instance to stop"},
                  {"timeout", 0, true, "-1", "Time to wait for the instance to shutdown cleanly"}},
                 run_restart});
    t.push_back({"pause", {"freeze"}, "[<remote>:]<instance> [[<remote>:]<instance>...]", "Pause instances", 1,
                 many, {}, run_pause});
    t.push_back({"delete", {"rm"}, "[<remote>:]<instance> [[<remote>:]<instance>...]", "Delete instances", 1, many,
                 {{"force", 'f', false, "", "Force the removal of running instances"},
                  {"interactive", 'i', false, "", "Require user confirmation"}},
                 run_delete});
    t.push_back({"rename", {"move", "mv"}, "[<remote>:]<instance> [<remote>:]<new-name>", "Rename instances", 2, 2,
                 {}, run_rename});
}

} // namespace lodge::cli
