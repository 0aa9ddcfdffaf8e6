// X.509 certificates as lodged and lodge use them for TLS: self-signed
// EC P-384 pairs made the way LXD makes them, SHA-256 fingerprints (the
// identity in the trust store) and the PEM/DER/base64 forms clients send.
#pragma once

#include <string>
#include <utility>

struct x509_st; // OpenSSL's X509

namespace lodge {

enum class CertificateRole { Server, Client };

// Makes a key (EC P-384) and a self-signed certificate valid ten years, as
// LXD does: O=linuxcontainers.org, CN=user@host, serverAuth or clientAuth,
// and for a server the host name, 127.0.0.1 and ::1 as alternative names. Writes them as PEM to
// cert_path and key_path (mode 0600) unless both exist already; returns
// true when it made them.
bool ensure_certificate(const std::string& cert_path, const std::string& key_path, CertificateRole role);

// Lower-case hex SHA-256 of the certificate's DER; Error(400) for input that
// is not a certificate.
std::string certificate_fingerprint(const std::string& pem);

// A certificate given as PEM or as base64 DER (LXD's `certificate` field),
// as PEM; Error(400) when it is neither.
std::string certificate_to_pem(const std::string& pem_or_base64_der);

// The base64 of the certificate's DER (LXD's `certificate` field).
std::string certificate_base64_der(const std::string& pem);

// The subject's common name, "" when there is none.
std::string certificate_common_name(const std::string& pem);

// notBefore and notAfter as seconds since the epoch.
std::pair<long long, long long> certificate_validity(const std::string& pem);

std::string base64_encode(const std::string& data);
// Error(400) for input that is not base64.
std::string base64_decode(const std::string& text);

// n random bytes as lower-case hex, from the OpenSSL CSPRNG.
std::string random_hex(std::size_t n);

// A certificate OpenSSL holds (a TLS peer's), as PEM; "" for null.
std::string x509_to_pem(::x509_st* cert);

} // namespace lodge
