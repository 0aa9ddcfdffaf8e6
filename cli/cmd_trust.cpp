// `lodge config trust …`: the server's trust store and trust tokens, as
// `lxc config trust` (add with a name prints a token, list, remove).
#include "api/certificate.hpp"
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/output.hpp"
#include "common/certificate.hpp"
#include "common/file.hpp"

#include <ctime>
#include <ostream>

namespace lodge::cli {

namespace {

// The remote of an optional "[<remote>:]" argument.
std::string remote_of(const Context& ctx, const Args& args, size_t index = 0) {
    if (args.positional.size() <= index) return ctx.config.default_remote;
    return parse_remote(ctx.config, args.positional[index]).first;
}

// Go's "Jan 2, 2006 at 3:04pm (MST)" for a UTC time, as lxc prints it.
std::string go_date(long long seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int hour = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %d, %d at %d:%02d%s (UTC)", months[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900,
                  hour, tm.tm_min, tm.tm_hour < 12 ? "am" : "pm");
    return buf;
}

// The token lxc prints, from the token operation's metadata.
std::string token_from_operation(const nlohmann::json& op) {
    const auto& meta = op.at("metadata");
    api::CertificateAddToken token;
    token.client_name = meta.at("request").value("name", "");
    token.secret = meta.value("secret", "");
    token.fingerprint = meta.value("fingerprint", "");
    token.addresses = meta.value("addresses", std::vector<std::string>{});
    if (meta.contains("expiresAt")) api::parse_time(meta["expiresAt"].get<std::string>(), token.expires_at);
    return base64_encode(nlohmann::json(token).dump());
}

int run_add(Context& ctx, const Args& args) {
    // lodge config trust add [<remote>:] [<cert>]: a certificate file adds it;
    // none asks for a token (the name from --name, else the argument).
    std::string remote = ctx.config.default_remote;
    std::string cert_file;
    std::string name = args.value("name");
    for (const auto& a : args.positional) {
        if (!a.empty() && a.back() == ':' && ctx.config.remotes.count(a.substr(0, a.size() - 1)))
            remote = a.substr(0, a.size() - 1);
        else if (!a.empty() && (a.find('/') != std::string::npos || a.find(".crt") != std::string::npos))
            cert_file = a;
        else if (name.empty())
            name = a;
        else
            throw Error("Too many arguments: give a name (or --name) and at most a certificate file");
    }
    auto api = connect_remote(ctx.config, remote);
    if (!cert_file.empty()) {
        auto pem = read_file(cert_file);
        api.query("POST", "/1.0/certificates",
                  {{"certificate", certificate_base64_der(pem)},
                   {"name", name.empty() ? cert_file.substr(cert_file.rfind('/') + 1) : name},
                   {"type", "client"}});
        return 0;
    }
    if (name.empty()) throw Error("A client name is needed: lodge config trust add NAME");
    auto op = api.query("POST", "/1.0/certificates", {{"name", name}, {"type", "client"}, {"token", true}});
    ctx.out << "Client " << name << " certificate add token:\n" << token_from_operation(op.at("metadata")) << "\n";
    return 0;
}

int run_list(Context& ctx, const Args& args) {
    auto format = checked_format(args);
    auto certs = connect_remote(ctx.config, remote_of(ctx, args)).get("/1.0/certificates?recursion=1");
    std::vector<Row> rows;
    for (const auto& c : certs) {
        const std::string pem = c.value("certificate", "");
        auto [issued, expires] = certificate_validity(pem);
        rows.push_back({c.value("type", ""), c.value("name", ""), certificate_common_name(pem),
                        c.value("fingerprint", "").substr(0, 12), go_date(issued), go_date(expires)});
    }
    std::sort(rows.begin(), rows.end());
    ctx.out << render_table(format, {"TYPE", "NAME", "COMMON NAME", "FINGERPRINT", "ISSUE DATE", "EXPIRY DATE"}, rows,
                            certs);
    return 0;
}

int run_remove(Context& ctx, const Args& args) {
    // "[<remote>:]<fingerprint>" or the legacy "<remote>: <fingerprint>".
    auto [remote, fingerprint] = parse_remote(ctx.config, args.positional[0]);
    if (args.positional.size() == 2) fingerprint = args.positional[1];
    if (fingerprint.empty()) throw Error("Missing certificate fingerprint");
    connect_remote(ctx.config, remote).query("DELETE", "/1.0/certificates/" + url_escape(fingerprint));
    return 0;
}

} // namespace

void add_trust_commands(std::vector<Command>& t) {
    t.push_back({"config trust add", {}, "[<remote>:] [<name>|<cert>]",
                 "Add new trusted client (a token for NAME, or a certificate file)", 0, 2,
                 {{"name", 0, true, "", "Alternative certificate name"}}, run_add});
    t.push_back({"config trust list", {"ls"}, "[<remote>:]", "List trusted clients", 0, 1, {format_flag()}, run_list});
    t.push_back({"config trust remove", {"rm"}, "[<remote>:]<fingerprint>", "Remove trusted client", 1, 2, {},
                 run_remove});
}

} // namespace lodge::cli
