// `lodge remote …`: the remotes of config.yml, with lxc's rules (static
// remotes stay, the default remote cannot be removed).
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/output.hpp"

#include <filesystem>
#include <ostream>

namespace lodge::cli {

namespace {

const Remote& existing(const Context& ctx, const std::string& name) {
    auto it = ctx.config.remotes.find(name);
    if (it == ctx.config.remotes.end()) throw Error("Remote " + name + " doesn't exist");
    return it->second;
}

// Where `remote add` will keep a remote's server certificate (as lxc's
// servercerts/NAME.crt); renamed and removed with the remote.
std::string server_cert_path(const Context& ctx, const std::string& name) {
    return std::filesystem::path(ctx.config_path).parent_path() / "servercerts" / (name + ".crt");
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    std::vector<Row> rows;
    nlohmann::json raw = nlohmann::json::object();
    for (const auto& [name, r] : ctx.config.remotes) {
        std::string protocol = r.protocol.empty() ? "lxd" : r.protocol;
        std::string shown = name == ctx.config.default_remote ? name + " (current)" : name;
        rows.push_back({shown, r.addr, protocol, auth_type(r), r.is_public ? "YES" : "NO", r.is_static ? "YES" : "NO", "NO"});
        // YAML shows lxc's yaml tags (omitempty); JSON its Go field names.
        nlohmann::json j{{"addr", r.addr}, {"public", r.is_public}};
        if (!r.auth_type.empty()) j["auth_type"] = r.auth_type;
        if (!r.project.empty()) j["project"] = r.project;
        if (!r.protocol.empty()) j["protocol"] = r.protocol;
        raw[name] = j;
    }
    sort_by_name(rows);
    KeyOrder order;
    for (const auto& [name, _] : ctx.config.remotes) order[name] = {"addr", "auth_type", "project", "protocol", "public"};
    if (format == "json") {
        // Go's encoder keeps struct order; nlohmann::json would sort it.
        nlohmann::ordered_json ordered = nlohmann::ordered_json::object();
        for (const auto& [name, r] : ctx.config.remotes)
            ordered[name] = {{"Addr", r.addr},         {"AuthType", r.auth_type}, {"Domain", ""},
                             {"Project", r.project},   {"Protocol", r.protocol},  {"Public", r.is_public},
                             {"Global", false},        {"Static", r.is_static}};
        ctx.out << ordered.dump() << "\n";
        return 0;
    }
    ctx.out << render_table(format, {"NAME", "URL", "PROTOCOL", "AUTH TYPE", "PUBLIC", "STATIC", "GLOBAL"}, rows, raw, order);
    return 0;
}

int run_get_default(Context& ctx, const Args&) {
    ctx.out << ctx.config.default_remote << "\n";
    return 0;
}

int run_switch(Context& ctx, const Args& args) {
    const auto& name = args.positional[0];
    existing(ctx, name);
    ctx.config.default_remote = name;
    save_config(ctx.config, ctx.config_path);
    return 0;
}

int run_remove(Context& ctx, const Args& args) {
    const auto& name = args.positional[0];
    if (existing(ctx, name).is_static) throw Error("Remote " + name + " is static and cannot be modified");
    if (ctx.config.default_remote == name) throw Error("Can't remove the default remote");
    ctx.config.remotes.erase(name);
    save_config(ctx.config, ctx.config_path);
    std::error_code ec; // a remote without a stored certificate is fine
    std::filesystem::remove(server_cert_path(ctx, name), ec);
    return 0;
}

int run_rename(Context& ctx, const Args& args) {
    const auto& from = args.positional[0];
    const auto& to = args.positional[1];
    Remote r = existing(ctx, from);
    if (r.is_static) throw Error("Remote " + from + " is static and cannot be modified");
    if (ctx.config.remotes.count(to)) throw Error("Remote " + to + " already exists");
    if (to.empty() || to.find(':') != std::string::npos) throw Error("Remote names may not be empty or contain colons");
    std::error_code ec;
    if (std::filesystem::exists(server_cert_path(ctx, from), ec)) {
        std::filesystem::rename(server_cert_path(ctx, from), server_cert_path(ctx, to), ec);
        if (ec) throw Error("Could not rename the certificate of remote " + from + ": " + ec.message());
    }
    ctx.config.remotes.erase(from);
    ctx.config.remotes[to] = r;
    if (ctx.config.default_remote == from) ctx.config.default_remote = to;
    save_config(ctx.config, ctx.config_path);
    return 0;
}

// Only unix-socket remotes for now: HTTPS needs the client certificate and
// trust tokens, which come with lodged's HTTPS listener.
int run_add(Context& ctx, const Args& args) {
    const auto& name = args.positional[0];
    std::string addr = args.positional.size() > 1 ? args.positional[1] : "";
    if (name.find(':') != std::string::npos) throw Error("Remote names may not contain colons");
    if (auto it = ctx.config.remotes.find(name); it != ctx.config.remotes.end())
        throw Error("Remote " + name + " exists as <" + it->second.addr + ">");
    if (addr.rfind("unix://", 0) != 0)
        throw Error("remote add over HTTPS (tokens, certificates) is not implemented yet; only unix:// addresses "
                    "(\"lodge remote add NAME unix:///path/to/unix.socket\") can be added today");
    auto protocol = args.value("protocol");
    if (protocol != "lxd") throw Error("Invalid protocol: " + protocol);
    Remote r;
    r.addr = addr;
    r.is_public = args.has("public");
    ctx.config.remotes[name] = r;
    save_config(ctx.config, ctx.config_path);
    return 0;
}

} // namespace

void add_remote_commands(std::vector<Command>& t) {
    t.push_back({"remote add", {}, "<remote> <URL>", "Add new remote servers (unix:// addresses for now)", 2, 2,
                 {{"protocol", 0, true, "lxd", "Server protocol (lxd)"}, {"public", 0, false, "", "Public image server"}},
                 run_add});
    t.push_back({"remote get-default", {}, "", "Show the default remote", 0, 0, {}, run_get_default});
    t.push_back({"remote list", {"ls"}, "", "List the available remotes", 0, 0, {format_flag()}, run_list});
    t.push_back({"remote remove", {"rm"}, "<remote>", "Remove remotes", 1, 1, {}, run_remove});
    t.push_back({"remote rename", {"mv"}, "<remote> <new-name>", "Rename remotes", 2, 2, {}, run_rename});
    t.push_back({"remote switch", {"set-default"}, "<remote>", "Switch the default remote", 1, 1, {}, run_switch});
}

} // namespace lodge::cli
