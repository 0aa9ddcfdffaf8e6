// The verb table: each cmd_*.cpp adds its verbs; `version` lives here as
// it belongs to no resource.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"

#include <ostream>

#ifndef LODGE_VERSION
#define LODGE_VERSION "unknown"
#endif

namespace lodge::cli {

namespace {

int run_version(Context& ctx, const Args& args) {
    ctx.out << "Client version: " << LODGE_VERSION << "\n";
    // As lxc: the server's version when the default remote answers,
    // "unreachable" otherwise; never an error.
    std::string remote = ctx.config.default_remote;
    if (!args.positional.empty()) remote = parse_remote(ctx.config, args.positional[0]).first;
    std::string server = "unreachable";
    try {
        auto info = connect_remote(ctx.config, remote).get("/1.0");
        server = info.value("environment", nlohmann::json::object()).value("server_version", "unknown");
    } catch (const Error&) {
    }
    ctx.out << "Server version: " << server << "\n";
    return 0;
}

} // namespace

const std::vector<Command>& command_table() {
    static const std::vector<Command> table = [] {
        std::vector<Command> t;
        add_list_commands(t);
        add_instance_commands(t);
        add_operation_commands(t);
        add_monitor_commands(t);
        add_server_commands(t);
        add_profile_commands(t);
        add_device_commands(t);
        add_audit_commands(t);
        add_remote_commands(t);
        add_storage_commands(t);
        add_storage_volume_commands(t);
        add_network_commands(t);
        add_exec_commands(t);
        add_file_commands(t);
        add_trust_commands(t);
        add_image_commands(t);
        add_image_vm_commands(t);
        add_migrate_commands(t);
        add_snapshot_commands(t);
        add_publish_commands(t);
        add_image_export_commands(t);
        add_backup_commands(t);
        t.push_back({"version", {}, "[<remote>:]", "Show local and remote versions", 0, 1, {}, run_version});
        return t;
    }();
    return table;
}

} // namespace lodge::cli
