// `lodge storage list/show`: the storage pools (GET /1.0/storage-pools
// with recursion=1, /1.0/storage-pools/NAME), as lxc shows them.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"

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
    ctx.out << to_yaml(pool, storage_pool_key_order());
    return 0;
}

} // namespace

void add_storage_commands(std::vector<Command>& t) {
    t.push_back({"storage list", {"ls"}, "[<remote>:]", "List available storage pools", 0, 1, {format_flag()}, run_list});
    t.push_back({"storage show", {}, "[<remote>:]<pool>", "Show storage pool configurations and resources", 1, 1, {},
                 run_show});
}

} // namespace lodge::cli
