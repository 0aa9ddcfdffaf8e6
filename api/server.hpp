// The server object of GET /1.0 (shared/api/server.go): what the daemon
// supports (api_extensions), whether the caller is trusted, and, for trusted
// callers only, its config and the host environment.
#pragma once

#include "api/profile.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace lodge::api {

// One entry of environment.storage_supported_drivers. Capitalised keys are
// LXD's (the Go struct has no json tags).
struct StorageDriverInfo {
    std::string name;
    std::string version;
    bool remote = false;
};

inline void to_json(nlohmann::json& j, const StorageDriverInfo& d) {
    j = nlohmann::json{{"Name", d.name}, {"Version", d.version}, {"Remote", d.remote}};
}

inline void from_json(const nlohmann::json& j, StorageDriverInfo& d) {
    d.name = j.value("Name", "");
    d.version = j.value("Version", "");
    d.remote = j.value("Remote", false);
}

struct ServerEnvironment {
    std::vector<std::string> addresses; // HTTPS listen addresses; [] when none
    std::vector<std::string> architectures;
    std::string certificate;             // PEM; "" until HTTPS exists
    std::string certificate_fingerprint; // SHA-256 hex
    std::string driver;                  // instance driver(s)
    std::string driver_version;
    std::string firewall;
    std::string kernel;              // uname sysname
    std::string kernel_architecture; // uname machine
    std::map<std::string, std::string> kernel_features; // "true"/"false" strings
    std::string kernel_version;                          // uname release
    std::map<std::string, std::string> lxc_features;     // liblxc's; lodge has none
    std::string os_name;
    std::string os_version;
    std::string project = "default";
    std::string server;
    bool server_clustered = false;
    std::string server_event_mode = "full-mesh";
    std::string server_name;
    long server_pid = 0;
    std::string server_version;
    std::string storage;         // drivers in use, " | "-joined
    std::string storage_version; // their versions, same order
    std::vector<StorageDriverInfo> storage_supported_drivers;
};

inline void to_json(nlohmann::json& j, const ServerEnvironment& e) {
    j = nlohmann::json{{"addresses", e.addresses},
                       {"architectures", e.architectures},
                       {"certificate", e.certificate},
                       {"certificate_fingerprint", e.certificate_fingerprint},
                       {"driver", e.driver},
                       {"driver_version", e.driver_version},
                       {"firewall", e.firewall},
                       {"kernel", e.kernel},
                       {"kernel_architecture", e.kernel_architecture},
                       {"kernel_features", e.kernel_features},
                       {"kernel_version", e.kernel_version},
                       {"lxc_features", e.lxc_features},
                       {"os_name", e.os_name},
                       {"os_version", e.os_version},
                       {"project", e.project},
                       {"server", e.server},
                       {"server_clustered", e.server_clustered},
                       {"server_event_mode", e.server_event_mode},
                       {"server_name", e.server_name},
                       {"server_pid", e.server_pid},
                       {"server_version", e.server_version},
                       {"storage", e.storage},
                       {"storage_version", e.storage_version},
                       {"storage_supported_drivers", e.storage_supported_drivers}};
}

inline void from_json(const nlohmann::json& j, ServerEnvironment& e) {
    using Strings = std::vector<std::string>;
    using StringMap = std::map<std::string, std::string>;
    e.addresses = j.value("addresses", Strings{});
    e.architectures = j.value("architectures", Strings{});
    e.certificate = j.value("certificate", "");
    e.certificate_fingerprint = j.value("certificate_fingerprint", "");
    e.driver = j.value("driver", "");
    e.driver_version = j.value("driver_version", "");
    e.firewall = j.value("firewall", "");
    e.kernel = j.value("kernel", "");
    e.kernel_architecture = j.value("kernel_architecture", "");
    e.kernel_features = j.value("kernel_features", StringMap{});
    e.kernel_version = j.value("kernel_version", "");
    e.lxc_features = j.value("lxc_features", StringMap{});
    e.os_name = j.value("os_name", "");
    e.os_version = j.value("os_version", "");
    e.project = j.value("project", "default");
    e.server = j.value("server", "");
    e.server_clustered = j.value("server_clustered", false);
    e.server_event_mode = j.value("server_event_mode", "");
    e.server_name = j.value("server_name", "");
    e.server_pid = j.value("server_pid", 0L);
    e.server_version = j.value("server_version", "");
    e.storage = j.value("storage", "");
    e.storage_version = j.value("storage_version", "");
    e.storage_supported_drivers = j.value("storage_supported_drivers", std::vector<StorageDriverInfo>{});
}

struct Server {
    ConfigMap config;
    std::vector<std::string> api_extensions;
    std::string api_status = "stable";
    std::string api_version = "1.0";
    bool trusted = false; // "auth": "trusted" / "untrusted"
    bool is_public = false;
    std::vector<std::string> auth_methods{"tls"};
    ServerEnvironment environment;
};

// An untrusted caller gets only the part that tells it how to authenticate,
// as LXD answers (no config, no environment).
inline void to_json(nlohmann::json& j, const Server& s) {
    j = nlohmann::json{{"api_extensions", s.api_extensions},
                       {"api_status", s.api_status},
                       {"api_version", s.api_version},
                       {"auth", s.trusted ? "trusted" : "untrusted"},
                       {"public", s.is_public},
                       {"auth_methods", s.auth_methods}};
    if (s.trusted) {
        j["config"] = s.config;
        j["environment"] = s.environment;
    }
}

inline void from_json(const nlohmann::json& j, Server& s) {
    s.api_extensions = j.value("api_extensions", std::vector<std::string>{});
    s.api_status = j.value("api_status", "");
    s.api_version = j.value("api_version", "");
    s.trusted = j.value("auth", "") == "trusted";
    s.is_public = j.value("public", false);
    s.auth_methods = j.value("auth_methods", std::vector<std::string>{});
    s.config = j.contains("config") && !j["config"].is_null() ? j["config"].get<ConfigMap>() : ConfigMap{};
    if (j.contains("environment")) j.at("environment").get_to(s.environment);
}

// The body of PUT and PATCH /1.0. LXD accepts any JSON scalar as a value
// (clients send numbers and booleans); they are kept as JSON here and
// validated and turned into strings by the daemon.
struct ServerPut {
    std::map<std::string, nlohmann::json> config;
};

} // namespace lodge::api
