// Trusted client certificates (shared/api/certificate.go): the object of
// /1.0/certificates, the POST body, and the trust token clients exchange.
#pragma once

#include "api/time.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lodge::api {

struct Certificate {
    std::string name;
    std::string type = "client";
    bool restricted = false;
    std::vector<std::string> projects;
    std::string certificate; // PEM
    std::string fingerprint; // SHA-256 hex
};

inline void to_json(nlohmann::json& j, const Certificate& c) {
    j = nlohmann::json{{"name", c.name},
                       {"type", c.type},
                       {"restricted", c.restricted},
                       {"projects", c.projects},
                       {"certificate", c.certificate},
                       {"fingerprint", c.fingerprint}};
}

inline void from_json(const nlohmann::json& j, Certificate& c) {
    c.name = j.value("name", "");
    c.type = j.value("type", "client");
    c.restricted = j.value("restricted", false);
    c.projects = j.contains("projects") && j["projects"].is_array() ? j["projects"].get<std::vector<std::string>>()
                                                                     : std::vector<std::string>{};
    c.certificate = j.value("certificate", "");
    c.fingerprint = j.value("fingerprint", "");
}

// POST /1.0/certificates. `password` carries a trust token (LXD 5.0.2's
// client sends the token there); `token: true` asks for a new token.
struct CertificatesPost {
    std::string name;
    std::string type; // "" means client
    bool restricted = false;
    std::vector<std::string> projects;
    std::string certificate; // base64 DER (LXD) or PEM
    std::string password;
    bool token = false;
};

inline void from_json(const nlohmann::json& j, CertificatesPost& p) {
    auto str = [&](const char* key) { return j.contains(key) && !j[key].is_null() ? j[key].get<std::string>() : ""; };
    p.name = str("name");
    p.type = str("type");
    p.restricted = j.contains("restricted") && !j["restricted"].is_null() && j["restricted"].get<bool>();
    if (j.contains("projects") && !j["projects"].is_null()) p.projects = j["projects"].get<std::vector<std::string>>();
    p.certificate = str("certificate");
    p.password = str("password");
    // Later LXD clients send the token as `trust_token`.
    if (p.password.empty()) p.password = str("trust_token");
    p.token = j.contains("token") && !j["token"].is_null() && j["token"].get<bool>();
}

inline void to_json(nlohmann::json& j, const CertificatesPost& p) {
    j = nlohmann::json{{"name", p.name},         {"type", p.type},         {"restricted", p.restricted},
                       {"projects", p.projects}, {"certificate", p.certificate}, {"password", p.password},
                       {"token", p.token}};
}

// What `lxc config trust add` prints and `lxc remote add NAME TOKEN` takes:
// base64 (standard, padded) of this object as JSON.
struct CertificateAddToken {
    std::string client_name;
    std::string fingerprint; // of the server's certificate
    std::vector<std::string> addresses;
    std::string secret;
    Time expires_at{}; // zero: never
};

inline void to_json(nlohmann::json& j, const CertificateAddToken& t) {
    j = nlohmann::json{{"client_name", t.client_name},
                       {"fingerprint", t.fingerprint},
                       {"addresses", t.addresses},
                       {"secret", t.secret},
                       {"expires_at", format_time(t.expires_at)}};
}

inline void from_json(const nlohmann::json& j, CertificateAddToken& t) {
    t.client_name = j.value("client_name", "");
    t.fingerprint = j.value("fingerprint", "");
    t.addresses = j.value("addresses", std::vector<std::string>{});
    t.secret = j.value("secret", "");
    if (!parse_time(j.value("expires_at", std::string(zero_time)), t.expires_at)) t.expires_at = Time{};
}

} // namespace lodge::api
