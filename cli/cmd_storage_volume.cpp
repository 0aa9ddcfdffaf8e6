// `lodge storage volume ...`: custom volumes' life (create, show, config,
// rename, delete), their snapshots, and attaching them to instances as disk
// devices, with lxc 5.0.2's arguments, messages and requests
// (lxc/storage_volume.go). The list is in cmd_storage_volume_list.cpp.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"
#include "cli/storage_volume_output.hpp"

#include <algorithm>
#include <ostream>

namespace lodge::cli {

void add_storage_volume_list_command(std::vector<Command>& table);

namespace {

using nlohmann::json;

// The pool argument, "[<remote>:]<pool>".
struct Pool {
    std::string remote;
    std::string name;
};

Pool pool_arg(Context& ctx, const std::string& arg, const char* missing = "Missing pool name") {
    auto [remote, name] = parse_remote(ctx.config, arg);
    if (name.empty()) throw Error(missing);
    return {remote, name};
}

// lxc's parseVolume: "[<type>/]<name>", where a first word that is no
// volume type belongs to the name ("data/snap0").
struct VolumeArg {
    std::string name; // may be "volume/snapshot"
    std::string type;
    std::string volume() const { return name.substr(0, name.find('/')); }
    std::string snapshot() const { return name.find('/') == std::string::npos ? "" : name.substr(name.find('/') + 1); }
};

VolumeArg volume_arg(const std::string& arg) {
    static const std::vector<std::string> types{"custom", "image", "container", "virtual-machine"};
    const auto slash = arg.find('/');
    if (slash == std::string::npos || std::find(types.begin(), types.end(), arg.substr(0, slash)) == types.end())
        return {arg, "custom"};
    return {arg.substr(slash + 1), arg.substr(0, slash)};
}

// As lxc: "a/b/c" is no snapshot name; "a/b" is one.
bool is_snapshot(const VolumeArg& v) {
    const auto n = std::count(v.name.begin(), v.name.end(), '/');
    if (n > 1) throw Error("Invalid snapshot name");
    return n == 1;
}

std::string volume_path(const std::string& pool, const std::string& type, const std::string& name) {
    return "/1.0/storage-pools/" + url_escape(pool) + "/volumes/" + url_escape(type) + "/" + url_escape(name);
}

std::string snapshot_path(const std::string& pool, const VolumeArg& v) {
    return volume_path(pool, v.type, v.volume()) + "/snapshots/" + url_escape(v.snapshot());
}

int run_create(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    json config = json::object();
    for (size_t i = 2; i < args.positional.size(); ++i) {
        const auto& kv = args.positional[i];
        const auto eq = kv.find('=');
        if (eq == std::string::npos) throw Error("Bad key=value pair: [" + kv + "]"); // Go's %s of a []string
        config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    json body{{"name", vol.name},
              {"type", vol.type},
              {"content_type", args.value("type")},
              {"config", config},
              {"description", args.value("description")}};
    connect_remote(ctx.config, pool.remote)
        .query("POST", "/1.0/storage-pools/" + url_escape(pool.name) + "/volumes/" + url_escape(vol.type), body);
    ctx.out << "Storage volume " << args.positional[1] << " created\n";
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    auto api = connect_remote(ctx.config, pool.remote);
    if (!vol.snapshot().empty()) api.wait(api.query("DELETE", snapshot_path(pool.name, vol)));
    else api.query("DELETE", volume_path(pool.name, vol.type, vol.name));
    ctx.out << "Storage volume " << args.positional[1] << " deleted\n";
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    auto api = connect_remote(ctx.config, pool.remote);
    if (is_snapshot(vol)) {
        ctx.out << volume_yaml(api.get(snapshot_path(pool.name, vol)), storage_volume_snapshot_key_order());
        return 0;
    }
    auto v = api.get(volume_path(pool.name, vol.type, vol.name));
    if (v.contains("used_by") && v["used_by"].is_array()) {
        auto users = v["used_by"].get<std::vector<std::string>>();
        std::sort(users.begin(), users.end());
        v["used_by"] = users;
    }
    ctx.out << volume_yaml(v, storage_volume_key_order());
    return 0;
}

int run_get(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    auto api = connect_remote(ctx.config, pool.remote);
    auto v = is_snapshot(vol) ? api.get(snapshot_path(pool.name, vol)) : api.get(volume_path(pool.name, vol.type, vol.name));
    auto config = v.value("config", json::object());
    // lxc prints the value only when the key is there.
    if (config.is_object() && config.contains(args.positional[2]) && config[args.positional[2]].is_string())
        ctx.out << config[args.positional[2]].get<std::string>() << "\n";
    return 0;
}

// `set` and `unset`: the volume's writable part sent back whole, as lxc
// does. lxc unsets by sending the key as "", which LXD drops on storing;
// lodge leaves the key out, which is the same to LXD and leaves no empty
// key behind on a server that keeps it.
void update_config(Context& ctx, const std::string& pool_spec, const std::string& volume,
                   const std::map<std::string, std::string>& keys, bool unset = false) {
    const auto pool = pool_arg(ctx, pool_spec);
    const auto vol = volume_arg(volume);
    if (is_snapshot(vol)) throw Error("Snapshots are read-only and can't have their configuration changed");
    auto api = connect_remote(ctx.config, pool.remote);
    auto v = api.get(volume_path(pool.name, vol.type, vol.name));
    json config = v.value("config", json::object());
    if (!config.is_object()) config = json::object();
    for (const auto& [k, value] : keys) {
        if (unset) config.erase(k);
        else config[k] = value;
    }
    api.query("PUT", volume_path(pool.name, v.value("type", vol.type), v.value("name", vol.name)),
              {{"config", config}, {"description", v.value("description", "")}});
}

int run_set(Context& ctx, const Args& args) {
    const std::vector<std::string> rest(args.positional.begin() + 2, args.positional.end());
    pool_arg(ctx, args.positional[0]); // lxc names a missing pool before a bad pair
    update_config(ctx, args.positional[0], args.positional[1], config_args(rest));
    return 0;
}

int run_unset(Context& ctx, const Args& args) {
    update_config(ctx, args.positional[0], args.positional[1], {{args.positional[2], ""}}, true);
    return 0;
}

int run_rename(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    auto api = connect_remote(ctx.config, pool.remote);
    const auto& dest = args.positional[2];
    if (is_snapshot(vol)) {
        const auto slash = dest.find('/');
        if (dest.substr(0, slash) != vol.volume())
            throw Error("Invalid new snapshot name, parent volume must be the same as source");
        if (slash == std::string::npos) throw Error("Invalid new snapshot name");
        const auto new_name = dest.substr(slash + 1);
        api.wait(api.query("POST", snapshot_path(pool.name, vol), {{"name", new_name}}));
        ctx.out << "Renamed storage volume from \"" << vol.name << "\" to \"" << new_name << "\"\n";
        return 0;
    }
    api.query("POST", volume_path(pool.name, vol.type, vol.name), {{"name", dest}});
    ctx.out << "Renamed storage volume from \"" << vol.name << "\" to \"" << dest << "\"\n";
    return 0;
}

// The instance's writable part (InstancePut), sent back with a changed
// device list; lxc waits for the update's operation.
void put_instance_devices(ApiClient& api, const std::string& instance, json inst, const json& devices) {
    json put{{"architecture", inst["architecture"]}, {"config", inst["config"]},   {"devices", devices},
             {"ephemeral", inst["ephemeral"]},       {"profiles", inst["profiles"]}, {"stateful", inst["stateful"]},
             {"description", inst["description"]}};
    auto answer = api.query("PUT", "/1.0/instances/" + url_escape(instance), put);
    if (answer.is_object() && answer.value("type", "") == "async") api.wait(answer);
}

// lxc's argument shuffle: "<instance>" alone names the device after the
// volume and gives no path; "<instance> <path>" likewise names it after the
// volume; "<instance> <device> <path>" names both.
int run_attach(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto& p = args.positional;
    std::string dev_name = p[1], dev_path;
    if (p.size() == 4) dev_path = p[3];
    if (p.size() == 5) dev_name = p[3], dev_path = p[4];
    const auto vol = volume_arg(p[1]);
    if (vol.type != "custom") throw Error("Only \"custom\" volumes can be attached to instances");
    auto api = connect_remote(ctx.config, pool.remote);
    auto inst = api.get("/1.0/instances/" + url_escape(p[2]));
    json devices = inst.value("devices", json::object());
    if (!devices.is_object()) devices = json::object();
    if (devices.contains(dev_name)) throw Error("Device already exists: " + dev_name);
    devices[dev_name] = {{"type", "disk"}, {"pool", pool.name}, {"source", vol.name}, {"path", dev_path}};
    put_instance_devices(api, p[2], inst, devices);
    return 0;
}

int run_detach(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto& p = args.positional;
    auto api = connect_remote(ctx.config, pool.remote);
    auto inst = api.get("/1.0/instances/" + url_escape(p[2]));
    json devices = inst.value("devices", json::object());
    if (!devices.is_object()) devices = json::object();
    std::string dev_name = p.size() == 4 ? p[3] : "";
    if (dev_name.empty())
        for (const auto& [name, d] : devices.items()) {
            auto field = [&](const char* k) { return d.is_object() && d.contains(k) ? d[k].get<std::string>() : ""; };
            if (field("type") == "disk" && field("pool") == pool.name && field("source") == p[1]) {
                if (!dev_name.empty()) throw Error("More than one device matches, specify the device name");
                dev_name = name;
            }
        }
    if (dev_name.empty()) throw Error("No device found for this storage volume");
    if (!devices.contains(dev_name)) throw Error("The specified device doesn't exist");
    devices.erase(dev_name);
    put_instance_devices(api, p[2], inst, devices);
    return 0;
}

int run_snapshot(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    const auto vol = volume_arg(args.positional[1]);
    if (vol.type != "custom") throw Error("Only \"custom\" volumes can be snapshotted");
    auto api = connect_remote(ctx.config, pool.remote);
    api.get(volume_path(pool.name, vol.type, vol.name)); // the volume's own "not found" first
    const std::string snap = args.positional.size() > 2 ? args.positional[2] : "";
    json body{{"name", snap}};
    if (args.has("no-expiry")) body["expires_at"] = "0001-01-01T00:00:00Z";
    if (args.has("reuse") && !snap.empty()) {
        const auto path = volume_path(pool.name, vol.type, vol.name) + "/snapshots/" + url_escape(snap);
        bool exists = true;
        try {
            api.get(path);
        } catch (const Error&) {
            exists = false; // as lxc: any failure to get it means there is none to replace
        }
        if (exists) api.wait(api.query("DELETE", path));
    }
    api.wait(api.query("POST", volume_path(pool.name, vol.type, vol.name) + "/snapshots", body));
    return 0;
}

int run_restore(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0]);
    auto api = connect_remote(ctx.config, pool.remote);
    const auto path = volume_path(pool.name, "custom", args.positional[1]);
    api.get(path);
    api.query("PUT", path, {{"config", nullptr}, {"description", ""}, {"restore", args.positional[2]}});
    return 0;
}

// lxc prints times here in its "2006/01/02 15:04 MST" layout, the zero time
// included (a snapshot that never expires).
std::string info_time(const std::string& t) {
    if (t.size() < 16) return " ";
    return t.substr(0, 4) + "/" + t.substr(5, 2) + "/" + t.substr(8, 2) + " " + t.substr(11, 5) + " UTC";
}

int run_info(Context& ctx, const Args& args) {
    const auto pool = pool_arg(ctx, args.positional[0], "Missing storage pool name");
    const auto vol = volume_arg(args.positional[1]);
    if (is_snapshot(vol) || vol.type == "image") throw Error("Only instance or custom volumes are supported");
    auto api = connect_remote(ctx.config, pool.remote);
    const auto path = volume_path(pool.name, vol.type, vol.name);
    auto v = api.get(path);
    // lodged has no volume state yet (lxc fails there); without it the
    // Usage lines are left out.
    json state;
    try {
        state = api.get(path + "/state");
    } catch (const Error&) {
    }
    auto snaps = api.get(path + "/snapshots?recursion=1");
    auto& out = ctx.out;
    out << "Name: " << v.value("name", "") << "\n";
    if (!v.value("description", "").empty()) out << "Description: " << v.value("description", "") << "\n";
    out << "Type: " << (v.value("type", "").empty() ? "custom" : v.value("type", "")) << "\n";
    out << "Content type: " << (v.value("content_type", "").empty() ? "filesystem" : v.value("content_type", "")) << "\n";
    if (state.is_object()) {
        auto usage = state.value("usage", json());
        if (usage.is_object()) {
            auto used = usage.value("used", 0.0), total = usage.value("total", 0.0);
            out << "Usage: " << iec_bytes(used) << "\n";
            if (total > 0) out << "Total: " << iec_bytes(total) << "\n";
        }
    }
    if (snaps.is_array() && !snaps.empty()) {
        std::vector<Row> rows;
        for (const auto& s : snaps)
            rows.push_back({last_component(s.value("name", "")), s.value("description", ""),
                            s.contains("expires_at") && s["expires_at"].is_string() ? info_time(s["expires_at"]) : " "});
        sort_by_name(rows);
        out << "\nSnapshots:\n" << render_table("table", {"NAME", "DESCRIPTION", "EXPIRES AT"}, rows, snaps);
    }
    return 0;
}

} // namespace

void add_storage_volume_commands(std::vector<Command>& t) {
    const std::string p = "[<remote>:]<pool> ";
    add_storage_volume_list_command(t);
    t.push_back({"storage volume create", {}, p + "<volume> [key=value...]", "Create new custom storage volumes", 2, many,
                 {{"type", 0, true, "filesystem", "Content type, block or filesystem"},
                  {"description", 0, true, "", "Storage volume description"}},
                 run_create});
    t.push_back({"storage volume delete", {"rm"}, p + "<volume>[/<snapshot>]", "Delete storage volumes", 2, 2, {},
                 run_delete});
    t.push_back({"storage volume show", {}, p + "<volume>[/<snapshot>]", "Show storage volume configurations", 2, 2,
                 {}, run_show});
    t.push_back({"storage volume get", {}, p + "<volume>[/<snapshot>] <key>",
                 "Get values for storage volume configuration keys", 3, 3, {}, run_get});
    t.push_back({"storage volume set", {}, p + "<volume> <key>=<value>...", "Set storage volume configuration keys",
                 3, many, {}, run_set});
    t.push_back({"storage volume unset", {}, p + "<volume> <key>", "Unset storage volume configuration keys", 3, 3,
                 {}, run_unset});
    t.push_back({"storage volume rename", {}, p + "<old name>[/<old snapshot name>] <new name>[/<new snapshot name>]",
                 "Rename storage volumes and storage volume snapshots", 3, 3, {}, run_rename});
    t.push_back({"storage volume attach", {}, p + "<volume> <instance> [<device name>] [<path>]",
                 "Attach new storage volumes to instances", 3, 5, {}, run_attach});
    t.push_back({"storage volume detach", {}, p + "<volume> <instance> [<device name>]",
                 "Detach storage volumes from instances", 3, 4, {}, run_detach});
    t.push_back({"storage volume snapshot", {}, p + "<volume> [<snapshot>]", "Snapshot storage volumes", 2, 3,
                 {{"no-expiry", 0, false, "", "Ignore any configured auto-expiry for the storage volume"},
                  {"reuse", 0, false, "", "If the snapshot name already exists, delete and create a new one"}},
                 run_snapshot});
    t.push_back({"storage volume restore", {}, p + "<volume> <snapshot>", "Restore storage volume snapshots", 3, 3, {},
                 run_restore});
    t.push_back({"storage volume info", {}, p + "<volume>", "Show storage volume state information", 2, 2, {},
                 run_info});
}

} // namespace lodge::cli
