// The client configuration (~/.config/lodge/config.yml, the layout of lxc's
// config.yml): the remotes lodge knows and which one is the default.
#pragma once

#include <map>
#include <string>
#include <utility>

namespace lodge::cli {

struct Remote {
    std::string addr;      // "unix://", "unix:///path/to/socket" or "https://host:8443"
    std::string protocol;  // "" or "lxd" (lodged/LXD), "simplestreams" (an image server)
    std::string auth_type; // "" (derived), "tls"
    std::string project;
    bool is_public = false;
    bool is_static = false; // built in: never written, renamed or removed
};

struct ClientConfig {
    std::string default_remote = "local";
    std::map<std::string, Remote> remotes;
    std::map<std::string, std::string> aliases;
};

// The configuration directory: $LODGE_CONF, else $HOME/.config/lodge (as
// lxc uses $LXD_CONF, else ~/.config/lxc).
std::string config_dir();
inline std::string config_path() { return config_dir() + "/config.yml"; }

// The state directory a local remote talks to: $LODGE_DIR, else
// /var/lib/lodge (as lxc follows LXD_DIR).
std::string state_dir();

// Built-in configuration, as lxc 5.0's: the static remote "local" as the
// default, the image server "images", and the static image servers
// "ubuntu" and "ubuntu-daily".
ClientConfig default_config();

// Reads the file (a missing file gives the defaults), then puts the static
// remotes back (a file without "images" stays without it, as with lxc)
// and applies $LODGE_REMOTE. Throws Error with the file's name when it
// cannot be parsed.
ClientConfig load_config(const std::string& path);
ClientConfig parse_config(const std::string& yaml_text);

// The YAML text save_config writes (static remotes left out except
// "local", as lxc keeps its default remote in the file).
std::string format_config(const ClientConfig& config);
// Writes atomically (temporary file, fsync, rename) with mode 0600 in a
// 0700 directory: the file will hold certificate paths and tokens later.
void save_config(const ClientConfig& config, const std::string& path);

// "prod:web1" → {"prod", "web1"}; "web1" → {default remote, "web1"};
// "prod:" → {"prod", ""}. Throws Error for an unknown remote.
std::pair<std::string, std::string> parse_remote(const ClientConfig& config, const std::string& arg);

// The unix socket a remote is reached on; throws Error for remotes lodge
// cannot reach yet (HTTPS).
std::string socket_path(const Remote& remote);

// What `remote list` shows in AUTH TYPE.
std::string auth_type(const Remote& remote);

} // namespace lodge::cli
