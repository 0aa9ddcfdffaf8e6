// `lodge list`: instances with lxc's columns, filters and formats, from one
// GET /1.0/instances (recursion=2 only when a column needs state).
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/instance_columns.hpp"
#include "cli/output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    std::string columns_spec = args.value("columns");
    if (args.has("fast")) {
        if (args.has("columns")) throw Error("Can't specify --fast with --columns");
        columns_spec = "nsacPt";
    }
    auto columns = parse_columns(columns_spec);

    // lxc: a first argument with ':' and no '=' names the remote (and
    // maybe a name filter); other words are filters.
    std::vector<std::string> filters = args.positional;
    std::string remote = ctx.config.default_remote;
    if (!filters.empty() && filters[0].find(':') != std::string::npos && filters[0].find('=') == std::string::npos) {
        auto [r, name] = parse_remote(ctx.config, filters[0]);
        remote = r;
        filters.erase(filters.begin());
        if (!name.empty()) filters.push_back(name);
    }

    bool needs_state = false;
    for (const auto& c : columns) needs_state |= c.needs_state;
    // lxc asks for recursion=2 when it needs state; yaml and json print
    // the full objects either way, so ask for them too.
    bool full = needs_state || format == "json" || format == "yaml";
    auto instances = connect_remote(ctx.config, remote).get(std::string("/1.0/instances?recursion=") + (full ? "2" : "1"));
    if (!instances.is_array()) instances = json::array();

    json shown = json::array();
    for (const auto& inst : instances)
        if (instance_matches(inst, filters)) shown.push_back(inst);

    Row headers;
    for (const auto& c : columns) headers.push_back(c.name);
    ctx.out << render_table(format, headers, instance_rows(shown, columns), shown, instance_key_order());
    return 0;
}

} // namespace

void add_list_commands(std::vector<Command>& t) {
    t.push_back({"list",
                 {"ls"},
                 "[<remote>:] [<filter>...]",
                 "List instances",
                 0,
                 many,
                 {{"columns", 'c', true, default_list_columns,
                   "Columns: n name, s state, 4 IPv4, 6 IPv6, t type, S snapshots, a architecture, b storage pool, "
                   "d description, e project, f/F base image, N processes, p PID, P profiles, or config keys "
                   "([config:|devices:]KEY[:NAME[:MAXWIDTH]])"},
                  format_flag(),
                  {"fast", 0, false, "", "Fast mode (same as --columns=nsacPt)"}},
                 run_list});
}

} // namespace lodge::cli
