// `lodge config device ...` (instances) and `lodge profile device ...`
// (profiles): add, get, list, override (instances only), remove, set, show,
// unset, as lxc 5.0.2 does them (lxc/config_device.go): read the object,
// change its devices, PUT the writable part back.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/object_updates.hpp"
#include "cli/yaml_output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

// The object the devices belong to.
enum class Owner { instance, profile };

// Go's %q of a plain string.
std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// "key=value" arguments into a device's keys (lxc: "No value found in %q").
void apply_pairs(json& device, const std::vector<std::string>& pairs) {
    for (const auto& p : pairs) {
        const auto eq = p.find('=');
        if (eq == std::string::npos) throw Error("No value found in " + quoted(p));
        device[p.substr(0, eq)] = p.substr(eq + 1);
    }
}

// One device object: the owner as GET answers it, and where its writes go.
struct Target {
    Owner owner;
    std::string remote;
    std::string name;
    ApiClient api;
    json object;

    Target(Context& ctx, Owner o, const std::string& arg)
        : owner(o), api(open(ctx, arg, remote, name)), object(api.get(path())) {}

    std::string path() const { return owner == Owner::profile ? profile_path(name) : instance_path(name); }
    json devices() const {
        auto it = object.find("devices");
        return it != object.end() && it->is_object() ? *it : json::object();
    }
    json expanded_devices() const {
        auto it = object.find("expanded_devices");
        return it != object.end() && it->is_object() ? *it : json::object();
    }
    void write(Context& ctx, const json& devices) {
        if (owner == Owner::profile) {
            auto put = profile_put(object);
            put["devices"] = devices;
            put_profile(ctx, api, name, put);
        } else {
            auto put = instance_put(object);
            put["devices"] = devices;
            put_instance(ctx, api, name, put);
        }
    }

private:
    static ApiClient open(Context& ctx, const std::string& arg, std::string& remote, std::string& name) {
        std::tie(remote, name) = named_target(ctx, arg, "Missing name");
        return connect_remote(ctx.config, remote);
    }
};

// The instance's own device, or lxc's error saying it exists only through
// a profile (verb: "retrieved", "removed from", "modified for").
json& own_device(Target& t, json& devices, const std::string& dev, const std::string& profile_error) {
    if (devices.contains(dev)) return devices[dev];
    if (t.owner == Owner::instance && t.expanded_devices().contains(dev)) throw Error(profile_error);
    throw Error("Device doesn't exist");
}

int device_add(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    const auto& dev = args.positional[1];
    json device = {{"type", args.positional[2]}};
    apply_pairs(device, std::vector<std::string>(args.positional.begin() + 3, args.positional.end()));
    auto devices = t.devices();
    if (devices.contains(dev)) throw Error("The device already exists");
    devices[dev] = device;
    t.write(ctx, devices);
    ctx.out << "Device " << dev << " added to " << t.name << "\n";
    return 0;
}

int device_get(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    auto devices = t.devices();
    auto& device = own_device(t, devices, args.positional[1],
                              "Device from profile(s) cannot be retrieved for individual instance");
    auto it = device.find(args.positional[2]);
    ctx.out << (it != device.end() && it->is_string() ? it->get<std::string>() : "") << "\n";
    return 0;
}

int device_list(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    // lxc prints Go's map order (random); lodge prints names sorted.
    std::string names;
    const auto devices = t.devices();
    for (const auto& [name, _] : devices.items()) names += (names.empty() ? "" : "\n") + name;
    ctx.out << names << "\n";
    return 0;
}

int device_show(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    ctx.out << to_yaml(t.devices());
    return 0;
}

int device_remove(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    auto devices = t.devices();
    std::string names;
    for (size_t i = 1; i < args.positional.size(); ++i) {
        const auto& dev = args.positional[i];
        own_device(t, devices, dev,
                   "Device from profile(s) cannot be removed from individual instance. Override device or modify "
                   "profile instead");
        devices.erase(dev);
        names += (names.empty() ? "" : ", ") + dev;
    }
    t.write(ctx, devices);
    ctx.out << "Device " << names << " removed from " << t.name << "\n";
    return 0;
}

int set_keys(Context& ctx, Target& t, const std::string& dev, const std::map<std::string, std::string>& keys) {
    auto devices = t.devices();
    auto& device = own_device(t, devices, dev,
                              "Device from profile(s) cannot be modified for individual instance. Override device "
                              "or modify profile instead");
    for (const auto& [k, v] : keys) device[k] = v;
    t.write(ctx, devices);
    return 0;
}

int device_set(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    return set_keys(ctx, t, args.positional[1],
                    config_args(std::vector<std::string>(args.positional.begin() + 2, args.positional.end())));
}

// lxc's unset is a set to "": the server drops empty values.
int device_unset(Context& ctx, const Args& args, Owner owner) {
    Target t(ctx, owner, args.positional[0]);
    return set_keys(ctx, t, args.positional[1], {{args.positional[2], ""}});
}

// A profile's device copied into the instance, with changed keys.
int override_device(Context& ctx, const Args& args) {
    Target t(ctx, Owner::instance, args.positional[0]);
    const auto& dev = args.positional[1];
    auto devices = t.devices();
    if (devices.contains(dev)) throw Error("The device already exists");
    auto expanded = t.expanded_devices();
    if (!expanded.contains(dev)) throw Error("The profile device doesn't exist");
    auto device = expanded[dev];
    apply_pairs(device, std::vector<std::string>(args.positional.begin() + 2, args.positional.end()));
    devices[dev] = device;
    t.write(ctx, devices);
    ctx.out << "Device " << dev << " overridden for " << t.name << "\n";
    return 0;
}

void add_device_verbs(std::vector<Command>& t, Owner owner) {
    const bool inst = owner == Owner::instance;
    const std::string group = inst ? "config device " : "profile device ";
    const std::string what = inst ? "[<remote>:]<instance>" : "[<remote>:]<profile>";
    auto verb = [owner](int (*f)(Context&, const Args&, Owner)) {
        return [f, owner](Context& ctx, const Args& args) { return f(ctx, args, owner); };
    };
    t.push_back({group + "add", {}, what + " <device> <type> [key=value...]", "Add instance devices", 3, many, {},
                 verb(device_add)});
    t.push_back({group + "get", {}, what + " <device> <key>", "Get values for device configuration keys", 3, 3, {},
                 verb(device_get)});
    t.push_back({group + "list", {"ls"}, what, "List instance devices", 1, 1, {}, verb(device_list)});
    if (inst)
        t.push_back({group + "override", {}, what + " <device> [key=value...]",
                     "Copy profile inherited devices and override configuration keys", 2, many, {}, override_device});
    t.push_back({group + "remove", {"rm"}, what + " <name>...", "Remove instance devices", 2, many, {}, verb(device_remove)});
    t.push_back({group + "set", {}, what + " <device> <key>=<value>...", "Set device configuration keys", 3, many, {},
                 verb(device_set)});
    t.push_back({group + "show", {}, what, "Show full device configuration", 1, 1, {}, verb(device_show)});
    t.push_back({group + "unset", {}, what + " <device> <key>", "Unset device configuration keys", 3, 3, {},
                 verb(device_unset)});
}

} // namespace

void add_device_commands(std::vector<Command>& t) {
    add_device_verbs(t, Owner::instance);
    add_device_verbs(t, Owner::profile);
}

} // namespace lodge::cli
