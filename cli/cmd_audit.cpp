// `lodge audit [<remote>:][<instance>...]`: GET /1.0/instances/NAME/audit
// for the named instances (all of the remote's when none is named): what
// weakens a baseline and where the running kernel state differs from the
// config. Exits 1 when anything deviates, so cron and CI can run it.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/output.hpp"

#include <ostream>

namespace lodge::cli {

namespace {

using nlohmann::json;

int run_audit(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    // Instances grouped by remote, in the order given.
    std::vector<std::pair<std::string, std::string>> targets;
    if (args.positional.empty() || (args.positional.size() == 1 && args.positional[0].back() == ':')) {
        const auto remote = args.positional.empty() ? ctx.config.default_remote : parse_remote(ctx.config, args.positional[0]).first;
        auto names = connect_remote(ctx.config, remote).get("/1.0/instances");
        if (names.is_array())
            for (const auto& url : names) {
                const auto u = url.get<std::string>();
                targets.emplace_back(remote, u.substr(u.rfind('/') + 1));
            }
    } else {
        for (const auto& arg : args.positional) {
            auto [remote, name] = parse_remote(ctx.config, arg);
            if (name.empty()) throw Error("Missing instance name in \"" + arg + "\"");
            targets.emplace_back(remote, name);
        }
    }
    json reports = json::array();
    std::vector<Row> rows;
    bool deviates = false;
    for (const auto& [remote, name] : targets) {
        auto report = connect_remote(ctx.config, remote).get("/1.0/instances/" + url_escape(name) + "/audit");
        deviates |= !report.value("ok", false);
        const json findings = report.contains("findings") && report["findings"].is_array() ? report["findings"] : json::array();
        for (const auto& f : findings)
            rows.push_back({name, f.value("kind", ""), f.value("check", ""), f.value("expected", ""),
                            f.value("actual", ""), f.value("source", ""), f.value("message", "")});
        if (report.value("restart_pending", false))
            rows.push_back({name, "pending", "restart", "", "", "", "config changed since the start waits for a restart"});
        reports.push_back(std::move(report));
    }
    if (format == "json" || format == "yaml" || !rows.empty()) {
        ctx.out << render_table(format, {"INSTANCE", "KIND", "CHECK", "EXPECTED", "ACTUAL", "SOURCE", "DETAIL"}, rows,
                                reports);
    } else {
        ctx.out << "No deviations in " << targets.size() << (targets.size() == 1 ? " instance" : " instances") << "\n";
    }
    return deviates ? 1 : 0;
}

} // namespace

void add_audit_commands(std::vector<Command>& t) {
    t.push_back({"audit", {}, "[<remote>:][<instance>...]",
                 "Check instances against their baseline profiles and the running kernel state", 0, many,
                 {format_flag()}, run_audit});
}

} // namespace lodge::cli
