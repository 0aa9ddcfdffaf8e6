// Rows of the certificates table (schema v2). Restricted certificates and
// their projects are refused by the API, so rows always have restricted 0.
#include "daemon/db/certificates.hpp"

#include "common/error.hpp"

namespace lodge::daemon::db {

namespace {

constexpr const char* columns = "SELECT fingerprint, type, name, certificate, restricted FROM certificates";

api::Certificate row(const Statement& st) {
    api::Certificate c;
    c.fingerprint = st.text(0);
    c.type = st.text(1);
    c.name = st.text(2);
    c.certificate = st.text(3);
    c.restricted = st.integer(4) != 0;
    return c;
}

// LIKE with the prefix's wildcards taken literally.
std::string like_prefix(const std::string& prefix) {
    std::string out;
    for (char c : prefix) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out + "%";
}

} // namespace

std::vector<api::Certificate> list_certificates(Database& db) {
    auto st = db.prepare(std::string(columns) + " ORDER BY fingerprint");
    std::vector<api::Certificate> out;
    while (st.step()) out.push_back(row(st));
    return out;
}

std::optional<api::Certificate> find_certificate(Database& db, const std::string& prefix) {
    if (prefix.empty()) return std::nullopt;
    auto st = db.prepare(std::string(columns) + " WHERE fingerprint LIKE ? ESCAPE '\\' ORDER BY fingerprint LIMIT 2");
    st.bind(1, like_prefix(prefix));
    if (!st.step()) return std::nullopt;
    auto found = row(st);
    if (st.step()) throw Error(400, "Certificate fingerprint prefix \"" + prefix + "\" is ambiguous; give more of it");
    return found;
}

void create_certificate(Database& db, const api::Certificate& cert) {
    auto exists = db.prepare("SELECT 1 FROM certificates WHERE fingerprint = ?");
    exists.bind(1, cert.fingerprint);
    if (exists.step()) throw Error(409, "Certificate already in trust store");
    db.prepare("INSERT INTO certificates (fingerprint, type, name, certificate, restricted) VALUES (?, ?, ?, ?, ?)")
        .bind_all(cert.fingerprint, cert.type, cert.name, cert.certificate, cert.restricted)
        .run();
}

void update_certificate(Database& db, const std::string& fingerprint, const api::Certificate& cert) {
    db.prepare("UPDATE certificates SET type = ?, name = ?, restricted = ? WHERE fingerprint = ?")
        .bind_all(cert.type, cert.name, cert.restricted, fingerprint)
        .run();
}

void delete_certificate(Database& db, const std::string& fingerprint) {
    db.prepare("DELETE FROM certificates WHERE fingerprint = ?").bind(1, fingerprint).run();
}

} // namespace lodge::daemon::db
