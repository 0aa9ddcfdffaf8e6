// `lodge remote …`: the remotes of config.yml, with lxc's rules (static
// remotes stay, the default remote cannot be removed).
#include "api/certificate.hpp"
#include "cli/api_client.hpp"
#include "cli/dispatch.hpp"
#include "cli/error.hpp"
#include "cli/output.hpp"
#include "common/certificate.hpp"
#include "common/file.hpp"

#include <filesystem>
#include <optional>
#include <ostream>

namespace lodge::cli {

namespace {

const Remote& existing(const Context& ctx, const std::string& name) {
    auto it = ctx.config.remotes.find(name);
    if (it == ctx.config.remotes.end()) throw Error("Remote " + name + " doesn't exist");
    return it->second;
}

// Where `remote add` keeps a remote's server certificate (as lxc's
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

// lxc's token: base64 of JSON with client_name, fingerprint, addresses and
// secret; nullopt when text is not one.
std::optional<api::CertificateAddToken> decode_token(const std::string& text) {
    try {
        auto token = nlohmann::json::parse(base64_decode(text)).get<api::CertificateAddToken>();
        if (token.client_name.empty() || token.addresses.empty() || token.secret.empty() || token.fingerprint.empty())
            return std::nullopt;
        return token;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void ensure_client_certificate(Context& ctx) {
    make_dirs(config_dir(), 0700);
    if (std::filesystem::exists(client_certificate_path()) && std::filesystem::exists(client_key_path())) return;
    ctx.err << "Generating a client certificate. This may take a minute...\n";
    ensure_certificate(client_certificate_path(), client_key_path(), CertificateRole::Client);
}

TlsOptions client_tls() {
    TlsOptions tls;
    tls.client_certificate = client_certificate_path();
    tls.client_key = client_key_path();
    return tls;
}

// The server's certificate as it presents it, before anything trusts it.
std::string fetch_server_certificate(const std::string& url) {
    auto tls = client_tls();
    tls.insecure = true;
    UnixHttpClient http(https_endpoint(url, tls));
    return http.peer_certificate();
}

void pin_server_certificate(const std::string& name, const std::string& pem) {
    make_dirs(config_dir() + "/servercerts", 0750);
    write_file_atomic(server_certificate_path(name), pem, 0644);
}

// "host:port", "https://host:port" or "host" as lxc normalises it.
std::string https_url(const std::string& addr) {
    std::string url = addr.rfind("https://", 0) == 0 ? addr : "https://" + addr;
    auto rest = url.substr(8);
    bool has_port = !rest.empty() && (rest.front() == '[' ? rest.find("]:") != std::string::npos
                                                          : rest.find(':') != std::string::npos);
    return has_port ? url : url + ":8443";
}

// Trades the token for trust in our client certificate: pins the server
// certificate the token names, then POSTs the token as LXD's client does.
void add_with_token(Context& ctx, const std::string& name, const std::string& url, const std::string& token_text,
                    const api::CertificateAddToken& token) {
    auto pem = fetch_server_certificate(url);
    if (certificate_fingerprint(pem) != token.fingerprint)
        throw Error("Certificate fingerprint mismatch between certificate token and server \"" + url + "\"");
    pin_server_certificate(name, pem);
    auto tls = client_tls();
    tls.pinned_certificate = pem;
    ApiClient api(https_endpoint(url, tls));
    try {
        api.query("POST", "/1.0/certificates", {{"password", token_text}});
        if (api.get("/1.0").value("auth", "") != "trusted") throw Error("Server doesn't trust us after authentication");
    } catch (const Error& e) {
        std::error_code ec;
        std::filesystem::remove(server_certificate_path(name), ec);
        throw Error(std::string("Failed to create certificate: ") + e.what());
    }
    (void)ctx;
}

int run_add(Context& ctx, const Args& args) {
    const auto& name = args.positional[0];
    std::string addr = args.positional.size() > 1 ? args.positional[1] : "";
    if (name.find(':') != std::string::npos) throw Error("Remote names may not contain colons");
    if (auto it = ctx.config.remotes.find(name); it != ctx.config.remotes.end())
        throw Error("Remote " + name + " exists as <" + it->second.addr + ">");
    auto protocol = args.value("protocol");
    if (protocol != "lxd" && protocol != "simplestreams") throw Error("Invalid protocol: " + protocol);
    Remote r;
    if (protocol == "simplestreams") {
        // As lxc: an image server is public, has no authentication and no
        // pinned certificate (the system's CAs, or $SSL_CERT_FILE, vouch for
        // it), and nothing is fetched until it is used.
        if (addr.empty()) throw Error("Give the image server's URL");
        r.addr = addr.find("://") == std::string::npos ? "https://" + addr : addr;
        if (r.addr.rfind("https://", 0) != 0) throw Error("Only https URLs are supported for simplestreams");
        r.protocol = protocol;
        r.is_public = true;
        ctx.config.remotes[name] = r;
        save_config(ctx.config, ctx.config_path);
        return 0;
    }
    if (addr.rfind("unix://", 0) == 0) {
        r.addr = addr;
        r.is_public = args.has("public");
        ctx.config.remotes[name] = r;
        save_config(ctx.config, ctx.config_path);
        return 0;
    }
    std::string token_text = args.value("token");
    if (token_text.empty() && addr.empty()) throw Error("Give the server's address or a trust token");
    if (token_text.empty() && decode_token(addr)) token_text = addr, addr.clear();
    r.auth_type = "tls";
    r.protocol = "lxd";
    ensure_client_certificate(ctx);
    if (!token_text.empty()) {
        auto token = decode_token(token_text);
        if (!token) throw Error("Invalid trust token: not a certificate add token (lodge config trust add NAME)");
        std::vector<std::string> urls;
        if (!addr.empty())
            urls.push_back(https_url(addr));
        else
            for (const auto& a : token->addresses) urls.push_back(https_url(a));
        std::string failures;
        for (const auto& url : urls) {
            try {
                add_with_token(ctx, name, url, token_text, *token);
            } catch (const std::runtime_error& e) {
                // Only an unreachable address moves on to the next (as lxc).
                if (dynamic_cast<const Error*>(&e)) throw;
                failures += "\n  " + url + ": " + e.what();
                continue;
            }
            r.addr = url;
            ctx.config.remotes[name] = r;
            save_config(ctx.config, ctx.config_path);
            return 0;
        }
        throw Error("All server addresses are unavailable:" + failures);
    }
    // An address without a token: the server must trust our certificate
    // already; its certificate is pinned once the user accepts it.
    const auto url = https_url(addr);
    std::string pem;
    try {
        pem = fetch_server_certificate(url);
    } catch (const std::runtime_error& e) {
        throw Error("Unavailable remote server: " + url + ": " + e.what());
    }
    if (!args.has("accept-certificate"))
        throw Error("Certificate fingerprint: " + certificate_fingerprint(pem) +
                    "\nPass --accept-certificate to trust it, or add the remote with a trust token");
    pin_server_certificate(name, pem);
    auto tls = client_tls();
    tls.pinned_certificate = pem;
    if (ApiClient(https_endpoint(url, tls)).get("/1.0").value("auth", "") != "trusted") {
        std::error_code ec;
        std::filesystem::remove(server_certificate_path(name), ec);
        throw Error("The server doesn't trust this client: add it with a token (lodge remote add " + name +
                    " TOKEN; the token from `lodge config trust add NAME` on the server)");
    }
    r.addr = url;
    ctx.config.remotes[name] = r;
    save_config(ctx.config, ctx.config_path);
    return 0;
}

} // namespace

void add_remote_commands(std::vector<Command>& t) {
    t.push_back({"remote add", {}, "<remote> <IP|FQDN|URL|token>", "Add new remote servers", 1, 2,
                 {{"protocol", 0, true, "lxd", "Server protocol (lxd or simplestreams)"},
                  {"public", 0, false, "", "Public image server"},
                  {"token", 0, true, "", "Remote trust token"},
                  {"accept-certificate", 0, false, "", "Accept certificate"}},
                 run_add});
    t.push_back({"remote get-default", {}, "", "Show the default remote", 0, 0, {}, run_get_default});
    t.push_back({"remote list", {"ls"}, "", "List the available remotes", 0, 0, {format_flag()}, run_list});
    t.push_back({"remote remove", {"rm"}, "<remote>", "Remove remotes", 1, 1, {}, run_remove});
    t.push_back({"remote rename", {"mv"}, "<remote> <new-name>", "Rename remotes", 2, 2, {}, run_rename});
    t.push_back({"remote switch", {"set-default"}, "<remote>", "Switch the default remote", 1, 1, {}, run_switch});
}

} // namespace lodge::cli
