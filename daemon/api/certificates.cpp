// /1.0/certificates: the trust store and trust tokens. A trusted client
// adds certificates or asks for a token (a pending operation of class
// "token"); an untrusted HTTPS client trades a token, once, for trust in
// the certificate it connected with.
#include "api/certificate.hpp"

#include "common/certificate.hpp"
#include "common/error.hpp"
#include "daemon/api/routes.hpp"
#include "daemon/daemon.hpp"
#include "daemon/db/certificates.hpp"
#include "daemon/db/key_values.hpp"
#include "daemon/https_address.hpp"
#include "daemon/server_config.hpp"

#include <spdlog/spdlog.h>

namespace lodge::daemon {

namespace {

std::string config_value(Daemon& daemon, const std::string& key) {
    auto config = daemon.with_db([](db::Database& db) { return db::load_server_config(db); });
    auto it = config.find(key);
    return it == config.end() ? "" : it->second;
}

void check_type(const std::string& type) {
    if (type != "client")
        throw Error(400, "Certificate type \"" + type + "\" is not supported: lodged trusts client certificates only");
}

void check_unrestricted(bool restricted, const std::vector<std::string>& projects) {
    // Refused rather than stored and ignored: lodged has no per-project
    // authorization to enforce them with.
    if (restricted || !projects.empty())
        throw Error(400, "Restricted certificates (restricted, projects) are not supported");
}

api::Response list_certificates(Daemon& daemon, const Request& request) {
    const int depth = recursion(request);
    auto certs = daemon.with_db([](db::Database& db) { return db::list_certificates(db); });
    std::vector<std::string> fingerprints;
    std::map<std::string, api::Certificate> by_fingerprint;
    for (auto& c : certs) {
        fingerprints.push_back(c.fingerprint);
        by_fingerprint[c.fingerprint] = c;
    }
    return api::sync_response(collection(depth, "/1.0/certificates/", fingerprints,
                                         [&](const std::string& fp) { return nlohmann::json(by_fingerprint[fp]); }));
}

// A pending token operation whose metadata carries the request, as LXD's
// `lxc config trust add` reads it back (request.name, secret, fingerprint,
// addresses, expiresAt).
api::Response create_token(Daemon& daemon, api::CertificatesPost req) {
    const auto https_address = config_value(daemon, "core.https_address");
    if (https_address.empty())
        throw Error(400, "Can't issue token when server isn't listening on network: set core.https_address");
    if (req.name.empty()) throw Error(400, "A trust token needs a client name");
    nlohmann::json meta{{"secret", random_hex(32)},
                        {"fingerprint", daemon.environment().certificate_fingerprint},
                        {"addresses", https_listen_addresses(https_address)},
                        {"request", req}};
    if (auto expires = profiles::expiry_after(api::now(), config_value(daemon, "core.remote_token_expiry")))
        meta["expiresAt"] = api::format_time(*expires);
    OperationSpec spec;
    spec.description = "Certificate add token";
    spec.operation_class = "token";
    spec.metadata = std::move(meta);
    auto op = daemon.operations().start_pending(std::move(spec));
    spdlog::info("trust token for client \"{}\" issued (operation {})", req.name, op.id);
    return api::async_response(op.url(), op);
}

// The request a token was issued for, claiming (ending) its operation;
// Error(403) when the token matches none or has expired.
api::CertificatesPost redeem_token(Daemon& daemon, const std::string& token_text) {
    api::CertificateAddToken token;
    try {
        nlohmann::json::parse(base64_decode(token_text)).get_to(token);
    } catch (const std::exception&) {
        throw Error(403, "not authorized");
    }
    if (token.secret.empty()) throw Error(403, "not authorized");
    auto op = daemon.operations().claim_pending([&](const api::Operation& candidate) {
        return candidate.operation_class == "token" && candidate.metadata.is_object() &&
               candidate.metadata.value("secret", "") == token.secret;
    });
    if (!op) throw Error(403, "No matching certificate add operation found");
    if (op->metadata.contains("expiresAt")) {
        api::Time expires{};
        if (!api::parse_time(op->metadata["expiresAt"].get<std::string>(), expires) || api::now() > expires)
            throw Error(403, "Token has expired");
    }
    auto issued = op->metadata.at("request").get<api::CertificatesPost>();
    // The client may not override what the token was issued for.
    api::CertificatesPost out;
    out.name = issued.name;
    out.type = issued.type;
    return out;
}

HttpResponse add_certificate(Daemon& daemon, const Request& request) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "Request body must be a JSON object");
    auto req = body.get<api::CertificatesPost>();
    if (req.type.empty()) req.type = "client";
    if (req.token && !req.certificate.empty()) throw Error(400, "Can't use certificate if token is requested");
    if (req.token) check_type(req.type);

    if (!request.trusted) {
        // Only a token admits an untrusted client, and only the certificate
        // it connected with.
        if (req.token || req.password.empty()) throw Error(403, "not authorized");
        req = redeem_token(daemon, req.password);
    } else if (req.certificate.empty() && !req.token) {
        throw Error(400, "Client is already trusted");
    }
    check_type(req.type);
    check_unrestricted(req.restricted, req.projects);
    if (req.token) return to_http(create_token(daemon, std::move(req)));

    api::Certificate cert;
    if (!req.certificate.empty()) {
        cert.certificate = certificate_to_pem(req.certificate);
    } else if (!request.client_certificate.empty()) {
        cert.certificate = request.client_certificate;
    } else {
        throw Error(400, request.remote_address.empty() ? "Can't use TLS data on non-TLS link"
                                                        : "No client certificate provided");
    }
    cert.fingerprint = certificate_fingerprint(cert.certificate);
    cert.type = req.type;
    cert.name = req.name;
    if (cert.name.empty()) cert.name = certificate_common_name(cert.certificate);
    if (cert.name.empty()) cert.name = request.remote_address.substr(0, request.remote_address.rfind(':'));
    daemon.with_db([&](db::Database& db) { db::create_certificate(db, cert); });
    const auto url = "/1.0/certificates/" + cert.fingerprint;
    spdlog::info("certificate {} ({}) added to the trust store", cert.fingerprint, cert.name);
    daemon.events().lifecycle("certificate-created", url);
    auto out = to_http(api::sync_response(nullptr));
    out.status = 201;
    out.headers.emplace_back("Location", url);
    return out;
}

api::Certificate find(Daemon& daemon, const Request& request) {
    auto cert = daemon.with_db([&](db::Database& db) { return db::find_certificate(db, request.param("fingerprint")); });
    if (!cert) throw Error(404, "Certificate not found");
    return *cert;
}

// PUT replaces the writable fields, PATCH changes those given. The
// certificate itself stays: a new certificate is a new trust entry.
api::Response update_certificate(Daemon& daemon, const Request& request, bool replace) {
    auto body = json_body(request);
    if (!body.is_object()) throw Error(400, "Request body must be a JSON object");
    auto cert = find(daemon, request);
    auto updated = cert;
    if (replace) updated = api::Certificate{};
    if (body.contains("name") || replace) updated.name = body.value("name", "");
    if (body.contains("type") || replace) updated.type = body.value("type", "client");
    if (body.contains("restricted") || replace) updated.restricted = body.value("restricted", false);
    std::vector<std::string> projects;
    if (body.contains("projects") && !body["projects"].is_null())
        projects = body["projects"].get<std::vector<std::string>>();
    if (body.contains("certificate") && !body["certificate"].get<std::string>().empty() &&
        certificate_fingerprint(certificate_to_pem(body["certificate"].get<std::string>())) != cert.fingerprint)
        throw Error(400, "The certificate of a trust entry can't be changed: add the new one and remove the old");
    if (updated.name.empty()) throw Error(400, "A certificate needs a name");
    check_type(updated.type);
    check_unrestricted(updated.restricted, projects);
    daemon.with_db([&](db::Database& db) { db::update_certificate(db, cert.fingerprint, updated); });
    daemon.events().lifecycle("certificate-updated", "/1.0/certificates/" + cert.fingerprint);
    return api::sync_response(nlohmann::json::object());
}

api::Response delete_certificate(Daemon& daemon, const Request& request) {
    auto cert = find(daemon, request);
    daemon.with_db([&](db::Database& db) { db::delete_certificate(db, cert.fingerprint); });
    spdlog::info("certificate {} ({}) removed from the trust store", cert.fingerprint, cert.name);
    daemon.events().lifecycle("certificate-deleted", "/1.0/certificates/" + cert.fingerprint);
    return api::sync_response(nlohmann::json::object());
}

} // namespace

void add_certificate_routes(Router& router, Daemon& daemon) {
    router.add("GET", "/1.0/certificates", [&daemon](Request& r) -> Reply { return list_certificates(daemon, r); });
    router.add(
        "POST", "/1.0/certificates", [&daemon](Request& r) -> Reply { return add_certificate(daemon, r); },
        Access::Untrusted);
    router.add("GET", "/1.0/certificates/{fingerprint}",
               [&daemon](Request& r) -> Reply { return api::sync_response(find(daemon, r)); });
    router.add("PUT", "/1.0/certificates/{fingerprint}",
               [&daemon](Request& r) -> Reply { return update_certificate(daemon, r, true); });
    router.add("PATCH", "/1.0/certificates/{fingerprint}",
               [&daemon](Request& r) -> Reply { return update_certificate(daemon, r, false); });
    router.add("DELETE", "/1.0/certificates/{fingerprint}",
               [&daemon](Request& r) -> Reply { return delete_certificate(daemon, r); });
}

} // namespace lodge::daemon
