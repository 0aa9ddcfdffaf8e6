// `lodge storage list/show/create/delete/info/get/set/unset`: the storage
// pools, as lxc shows and manages them (volumes: cmd_storage_volume.cpp).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    std::string remote = ctx.config.default_remote;
    if (!args.positional.empty()) {
        auto [r, name] = parse_remote(ctx.config, args.positional[0]);
        if (!name.empty()) throw Error("Invalid remote \"" + args.positional[0] + "\" (write it as <remote>:)");
        remote = r;
    }
    auto pools = connect_remote(ctx.config, remote).get("/1.0/storage-pools?recursion=1");
    if (!pools.is_array()) pools = json::array();
    std::vector<Row> rows;
    for (const auto& p : pools) {
        auto config = p.value("config", json::object());
        auto used_by = p.value("used_by", json::array());
        rows.push_back({p.value("name", ""), p.value("driver", ""),
                        config.is_object() ? config.value("source", "") : "", p.value("description", ""),
                        std::to_string(used_by.is_array() ? used_by.size() : 0), upper(p.value("status", ""))});
    }
    sort_by_name(rows);
    KeyOrder order{{"[]", storage_pool_key_order().at("")}};
    ctx.out << render_table(format, {"NAME", "DRIVER", "SOURCE", "DESCRIPTION", "USED BY", "STATE"}, rows, pools, order);
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing pool name");
    auto pool = connect_remote(ctx.config, remote).get("/1.0/storage-pools/" + url_escape(name));
    if (pool.contains("used_by") && pool["used_by"].is_array()) { // lxc sorts them
        auto users = pool["used_by"].get<std::vector<std::string>>();
        std::sort(users.begin(), users.end());
        pool["used_by"] = users;
    }
    ctx.out << to_yaml(pool, storage_pool_key_order());
    return 0;
}

// `lodge storage create NAME DRIVER [key=value...]`: LXD's pool config keys
// ("source", "size" ...).
int run_create(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing pool name");
    json config = json::object();
    for (size_t i = 2; i < args.positional.size(); ++i) {
        const auto& kv = args.positional[i];
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("Bad key=value pair: " + kv);
        config[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    connect_remote(ctx.config, remote)
        .query("POST", "/1.0/storage-pools",
               {{"name", name}, {"driver", args.positional[1]}, {"config", config},
                {"description", args.value("description")}});
    ctx.out << "Storage pool " << name << " created\n";
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing pool name");
    connect_remote(ctx.config, remote).query("DELETE", "/1.0/storage-pools/" + url_escape(name));
    ctx.out << "Storage pool " << name << " deleted\n";
    return 0;
}

// Sizes as lxc's storage info prints them (1000-based, two decimals).
std::string decimal_bytes(double v) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (v >= 1000 && u < 5) v /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%s", v, units[u]);
    return buf;
}

// `lodge storage info NAME`: the pool, its space and who uses it.
int run_info(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing pool name");
    auto api = connect_remote(ctx.config, remote);
    auto pool = api.get("/1.0/storage-pools/" + url_escape(name));
    auto res = api.get("/1.0/storage-pools/" + url_escape(name) + "/resources");
    const bool bytes = args.has("bytes");
    auto size = [&](const json& v) {
        const auto n = v.is_number() ? v.get<double>() : 0.0;
        return bytes ? std::to_string(static_cast<unsigned long long>(n)) : decimal_bytes(n);
    };
    auto& out = ctx.out;
    out << "info:\n";
    out << "  description: " << (pool.value("description", "").empty() ? "\"\"" : pool.value("description", ""))
        << "\n";
    out << "  driver: " << pool.value("driver", "") << "\n";
    out << "  name: " << pool.value("name", "") << "\n";
    out << "  space used: " << size(res["space"]["used"]) << "\n";
    out << "  total space: " << size(res["space"]["total"]) << "\n";
    std::map<std::string, std::vector<std::string>> users;
    for (const auto& url : pool.value("used_by", json::array())) {
        const auto u = url.get<std::string>();
        auto rest = u.substr(std::string("/1.0/").size());
        const auto slash = rest.find('/');
        auto kind = rest.substr(0, slash), what = rest.substr(slash + 1);
        if (kind == "storage-pools") {
            kind = "volumes";
            what = what.substr(what.rfind('/') + 1);
        }
        users[kind].push_back(what.substr(0, what.find('?')));
    }
    out << "used by:\n";
    for (const auto& [kind, names] : users) {
        out << "  " << kind << ":\n";
        for (const auto& n : names) out << "  - " << n << "\n";
    }
    return 0;
}

int run_get(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing pool name");
    auto config = connect_remote(ctx.config, remote).get("/1.0/storage-pools/" + url_escape(name)).value("config", json());
    // As lxc: a key that isn't set prints nothing at all.
    if (config.is_object() && config.contains(args.positional[1]) && config[args.positional[1]].is_string())
        ctx.out << config[args.positional[1]].get<std::string>() << "\n";
    return 0;
}

// `set` and `unset`: the pool's writable part sent back whole with the
// change, as lxc does; validation is the server's. An unset key is left out
// rather than sent as "" (which LXD drops on storing).
void update_pool(Context& ctx, const std::string& pool, const std::vector<std::string>& pairs, bool unset = false) {
    auto [remote, name] = parse_remote(ctx.config, pool);
    if (name.empty()) throw Error("Missing pool name");
    auto api = connect_remote(ctx.config, remote);
    auto current = api.get("/1.0/storage-pools/" + url_escape(name));
    auto keys = config_args(pairs);
    json config = current.value("config", json::object());
    if (!config.is_object()) config = json::object();
    for (const auto& [k, v] : keys) {
        if (unset) config.erase(k);
        else config[k] = v;
    }
    api.query("PUT", "/1.0/storage-pools/" + url_escape(name),
              {{"config", config}, {"description", current.value("description", "")}});
}

int run_set(Context& ctx, const Args& args) {
    update_pool(ctx, args.positional[0], {args.positional.begin() + 1, args.positional.end()});
    return 0;
}

int run_unset(Context& ctx, const Args& args) {
    update_pool(ctx, args.positional[0], {args.positional[1], ""}, true);
    return 0;
}

} // namespace

void add_storage_commands(std::vector<Command>& t) {
    t.push_back({"storage list", {"ls"}, "[<remote>:]", "List available storage pools", 0, 1, {format_flag()}, run_list});
    t.push_back({"storage show", {}, "[<remote>:]<pool>", "Show storage pool configurations and resources", 1, 1, {},
                 run_show});
    t.push_back({"storage create", {}, "[<remote>:]<pool> <driver> [key=value...]", "Create storage pools", 2, many,
                 {{"description", 0, true, "", "Storage pool description"}}, run_create});
    t.push_back({"storage delete", {"rm"}, "[<remote>:]<pool>", "Delete storage pools", 1, 1, {}, run_delete});
    t.push_back({"storage info", {}, "[<remote>:]<pool>", "Show useful information about storage pools", 1, 1,
                 {{"bytes", 0, false, "", "Show the used and free space in bytes"}}, run_info});
    t.push_back({"storage get", {}, "[<remote>:]<pool> <key>", "Get values for storage pool configuration keys", 2, 2,
                 {}, run_get});
    t.push_back({"storage set", {}, "[<remote>:]<pool> <key>=<value>...", "Set storage pool configuration keys", 2,
                 many, {}, run_set});
    t.push_back({"storage unset", {}, "[<remote>:]<pool> <key>", "Unset storage pool configuration keys", 2, 2, {},
                 run_unset});
}

} // namespace lodge::cli
