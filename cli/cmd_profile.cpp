// `lodge profile list/show`: GET /1.0/profiles (recursion=1) and
// /1.0/profiles/NAME, shown as lxc shows them.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

std::string remote_only(const Context& ctx, const Args& args) {
    if (args.positional.empty()) return ctx.config.default_remote;
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (!name.empty()) throw Error("Invalid remote \"" + args.positional[0] + "\" (write it as <remote>:)");
    return remote;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto profiles = connect_remote(ctx.config, remote_only(ctx, args)).get("/1.0/profiles?recursion=1");
    if (!profiles.is_array()) profiles = json::array();
    std::vector<Row> rows;
    for (const auto& p : profiles) {
        auto used_by = p.value("used_by", json::array());
        rows.push_back({p.value("name", ""), p.value("description", ""),
                        std::to_string(used_by.is_array() ? used_by.size() : 0)});
    }
    sort_by_name(rows);
    KeyOrder order{{"[]", profile_key_order().at("")}};
    ctx.out << render_table(format, {"NAME", "DESCRIPTION", "USED BY"}, rows, profiles, order);
    return 0;
}

int run_show(Context& ctx, const Args& args) {
    auto [remote, name] = parse_remote(ctx.config, args.positional[0]);
    if (name.empty()) throw Error("Missing profile name");
    auto profile = connect_remote(ctx.config, remote).get("/1.0/profiles/" + url_escape(name));
    ctx.out << to_yaml(profile, profile_key_order());
    return 0;
}

} // namespace

void add_profile_commands(std::vector<Command>& t) {
    t.push_back({"profile list", {"ls"}, "[<remote>:]", "List profiles", 0, 1, {format_flag()}, run_list});
    t.push_back({"profile show", {}, "[<remote>:]<profile>", "Show profile configurations", 1, 1, {}, run_show});
}

} // namespace lodge::cli
