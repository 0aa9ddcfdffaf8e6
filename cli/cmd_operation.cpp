// `lodge operation list/show/delete`: the server's background work.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/table.hpp"
#include "cli/yaml_output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::pair<std::string, std::string> operation_target(const Context& ctx, const std::string& arg) {
    auto [remote, id] = parse_remote(ctx.config, arg);
    if (id.empty()) throw Error("Missing operation ID");
    return {remote, id};
}

int run_list(Context& ctx, const Args& args) {
    std::string remote = ctx.config.default_remote;
    if (!args.positional.empty()) remote = parse_remote(ctx.config, args.positional[0]).first;
    auto ops = connect_remote(ctx.config, remote).get("/1.0/operations?recursion=1");
    std::vector<Row> rows;
    json raw = json::array();
    // The answer groups operations by status ({"running": [...], "success": [...]}).
    for (auto& [status, list] : ops.items())
        for (const auto& op : list) {
            raw.push_back(op);
            rows.push_back({op.value("id", ""), op.value("class", "") == "task" ? "TASK" : op.value("class", ""),
                            op.value("description", ""), op.value("status", ""),
                            op.value("may_cancel", false) ? "YES" : "NO", op.value("created_at", "")});
        }
    sort_by_name(rows);
    for (auto& r : rows) {
        for (auto& c : r[3]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        // lxc prints the creation time as "2026/11/24 04:38 UTC".
        auto& t = r[5];
        if (t.size() >= 16) t = t.substr(0, 4) + "/" + t.substr(5, 2) + "/" + t.substr(8, 2) + " " + t.substr(11, 5) + " UTC";
    }
    const auto format = args.value("format");
    if (auto bad = check_format(format); !bad.empty()) throw Error(bad);
    ctx.out << render_table(format, {"ID", "TYPE", "DESCRIPTION", "STATUS", "CANCELABLE", "CREATED"}, rows, raw,
                            operation_key_order());
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    auto [remote, id] = operation_target(ctx, args.positional[0]);
    ctx.out << to_yaml(connect_remote(ctx.config, remote).get("/1.0/operations/" + url_escape(id)),
                       operation_key_order());
    return 0;
}

int run_delete(Context& ctx, const Args& args) {
    auto [remote, id] = operation_target(ctx, args.positional[0]);
    connect_remote(ctx.config, remote).query("DELETE", "/1.0/operations/" + url_escape(id));
    return 0;
}

} // namespace

void add_operation_commands(std::vector<Command>& t) {
    t.push_back({"operation list", {"ls"}, "[<remote>:]", "List background operations", 0, 1,
                 {{"format", 'f', true, "table", "Format (csv|json|table|yaml|compact)"}}, run_list});
    t.push_back({"operation show", {}, "[<remote>:]<operation>", "Show details on a background operation", 1, 1, {},
                 run_show});
    t.push_back({"operation delete", {"cancel", "rm"}, "[<remote>:]<operation>", "Delete a background operation",
                 1, 1, {}, run_delete});
}

} // namespace lodge::cli
