// `lodge monitor [<remote>:] [--type T]...`: the server's events as they
// happen, one YAML document each, as `lxc monitor` prints them.
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/websocket_client.hpp"
#include "cli/yaml_output.hpp"

#include <iostream>
#include <ostream>

namespace lodge::cli {

namespace {

int run_monitor(Context& ctx, const Args& args) {
    std::string remote = ctx.config.default_remote;
    if (!args.positional.empty()) remote = parse_remote(ctx.config, args.positional[0]).first;
    auto api = connect_remote(ctx.config, remote);
    if (api.http().endpoint().socket_path.empty())
        throw Error("monitor needs a local remote for now (websockets over HTTPS are not implemented in lodge)");
    std::string target = "/1.0/events";
    std::string types;
    for (const auto& t : args.values_of("type")) types += (types.empty() ? "" : ",") + t;
    if (!types.empty()) target += "?type=" + url_escape(types);
    WebSocketClient ws(api.socket_path(), target);
    for (;;) {
        auto m = ws.receive();
        if (m.opcode == WebSocketClient::Close) break;
        nlohmann::json event;
        try {
            event = nlohmann::json::parse(m.data);
        } catch (const nlohmann::json::parse_error&) {
            continue;
        }
        // lxc prints each event with its keys sorted and a blank line after.
        ctx.out << to_yaml(event) << "\n\n" << std::flush;
    }
    return 0;
}

} // namespace

void add_monitor_commands(std::vector<Command>& t) {
    t.push_back({"monitor", {}, "[<remote>:]", "Monitor a local or remote server", 0, 1,
                 {{"type", 0, true, "", "Event type to listen for (operation, logging, lifecycle)"}}, run_monitor});
}

} // namespace lodge::cli
