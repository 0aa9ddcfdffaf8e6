// Loading and saving config.yml with yaml-cpp, and the rules lxc applies to
// remotes (static ones cannot be changed, names may not contain ':').
#include "cli/remotes.hpp"

#include "cli/error.hpp"
#include "cli/yaml_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lodge::cli {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

Remote local_remote() {
    Remote r;
    r.addr = "unix://";
    r.is_static = true;
    return r;
}

Remote image_server(const std::string& addr, bool is_static) {
    Remote r;
    r.addr = addr;
    r.protocol = "simplestreams";
    r.is_public = true;
    r.is_static = is_static;
    return r;
}

// lxc 5.0's built-in image servers: Ubuntu's are static (always there,
// never written); "images" is only the default of a new configuration.
void add_static_remotes(ClientConfig& c) {
    c.remotes["ubuntu"] = image_server("https://cloud-images.ubuntu.com/releases", true);
    c.remotes["ubuntu-daily"] = image_server("https://cloud-images.ubuntu.com/daily", true);
}

} // namespace

std::string config_dir() {
    if (auto d = env("LODGE_CONF"); !d.empty()) return d;
    auto home = env("HOME");
    if (home.empty()) throw Error("HOME is not set: set HOME or LODGE_CONF to say where config.yml lives");
    return home + "/.config/lodge";
}

std::string state_dir() {
    auto d = env("LODGE_DIR");
    return d.empty() ? "/var/lib/lodge" : d;
}

ClientConfig default_config() {
    ClientConfig c;
    c.remotes["local"] = local_remote();
    c.remotes["images"] = image_server("https://images.linuxcontainers.org", false);
    add_static_remotes(c);
    return c;
}

ClientConfig parse_config(const std::string& text) {
    ClientConfig c;
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return default_config();
    if (!root.IsMap()) throw Error("the configuration is not a YAML mapping");
    if (root["default-remote"]) c.default_remote = root["default-remote"].as<std::string>();
    if (auto remotes = root["remotes"]; remotes && remotes.IsMap()) {
        for (const auto& entry : remotes) {
            Remote r;
            const auto& v = entry.second;
            if (!v.IsMap()) continue;
            if (v["addr"]) r.addr = v["addr"].as<std::string>();
            if (v["protocol"]) r.protocol = v["protocol"].as<std::string>();
            if (v["auth_type"]) r.auth_type = v["auth_type"].as<std::string>();
            if (v["project"]) r.project = v["project"].as<std::string>();
            if (v["public"]) r.is_public = v["public"].as<bool>();
            // lxc: a private remote without an auth type uses TLS.
            if (!r.is_public && r.auth_type.empty() && r.addr.rfind("unix:", 0) != 0) r.auth_type = "tls";
            c.remotes[entry.first.as<std::string>()] = r;
        }
    }
    if (auto aliases = root["aliases"]; aliases && aliases.IsMap())
        for (const auto& entry : aliases) c.aliases[entry.first.as<std::string>()] = entry.second.as<std::string>();
    return c;
}

ClientConfig load_config(const std::string& path) {
    ClientConfig c = default_config();
    std::error_code ec;
    bool exists = std::filesystem::exists(path, ec);
    std::ifstream in;
    if (exists) in.open(path);
    if (exists && !in) throw Error("Unable to read the configuration file " + path + ": " + std::strerror(errno));
    if (exists) {
        std::stringstream ss;
        ss << in.rdbuf();
        try {
            c = parse_config(ss.str());
        } catch (const YAML::Exception& e) {
            throw Error("Unable to decode the configuration " + path + ": " + e.what());
        } catch (const Error& e) {
            throw Error("Unable to decode the configuration " + path + ": " + e.what());
        }
    }
    // The static remote always wins over the file (only its project is kept).
    auto local = local_remote();
    if (auto it = c.remotes.find("local"); it != c.remotes.end()) local.project = it->second.project;
    c.remotes["local"] = local;
    add_static_remotes(c);
    if (auto r = env("LODGE_REMOTE"); !r.empty()) c.default_remote = r;
    if (c.default_remote.empty()) c.default_remote = "local";
    return c;
}

std::string format_config(const ClientConfig& config) {
    nlohmann::json remotes = nlohmann::json::object();
    for (const auto& [name, r] : config.remotes) {
        if (r.is_static && name != "local") continue;
        nlohmann::json j{{"addr", r.addr}, {"public", r.is_public}};
        // omitempty, as lxc's yaml tags
        if (!r.auth_type.empty() && !r.is_static) j["auth_type"] = r.auth_type;
        if (!r.project.empty()) j["project"] = r.project;
        if (!r.protocol.empty()) j["protocol"] = r.protocol;
        remotes[name] = j;
    }
    nlohmann::json doc{{"default-remote", config.default_remote}, {"remotes", remotes}, {"aliases", config.aliases}};
    static const KeyOrder order{{"", {"default-remote", "remotes", "aliases"}},
                                {"remotes.*", {"addr", "auth_type", "project", "protocol", "public"}}};
    // KeyOrder has no wildcard: order each remote explicitly.
    KeyOrder full = order;
    for (const auto& [name, _] : remotes.items()) full["remotes." + name] = order.at("remotes.*");
    return to_yaml(doc, full);
}

void save_config(const ClientConfig& config, const std::string& path) {
    namespace fs = std::filesystem;
    auto dir = fs::path(path).parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error("Could not create the configuration directory " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("Unable to create the configuration file " + tmp + ": " + std::strerror(errno));
    std::string text = format_config(config);
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw Error("Unable to write the configuration " + tmp + ": " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    // A crash must leave either the old file or the new one, never half.
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw Error("Unable to save the configuration " + path + ": " + std::strerror(err));
    }
}

std::pair<std::string, std::string> parse_remote(const ClientConfig& config, const std::string& arg) {
    auto colon = arg.find(':');
    if (colon == std::string::npos) return {config.default_remote, arg};
    auto remote = arg.substr(0, colon);
    if (!config.remotes.count(remote)) {
        // Snapshot names may hold ':' ("web1/snap:1"): then it is no remote.
        if (arg.find('/') != std::string::npos && remote.find('/') != std::string::npos)
            return {config.default_remote, arg};
        throw Error("The remote \"" + remote + "\" doesn't exist");
    }
    return {remote, arg.substr(colon + 1)};
}

std::string socket_path(const Remote& remote) {
    if (remote.addr == "unix://" || remote.addr == "unix:") return state_dir() + "/unix.socket";
    if (remote.addr.rfind("unix://", 0) == 0) return remote.addr.substr(7);
    if (remote.addr.rfind("https://", 0) == 0)
        throw Error("HTTPS remotes are not supported by this lodge yet (" + remote.addr + ")");
    throw Error("Unsupported remote address \"" + remote.addr + "\"");
}

std::string auth_type(const Remote& remote) {
    if (!remote.auth_type.empty()) return remote.auth_type;
    if (remote.addr.rfind("unix:", 0) == 0) return "file access";
    if (remote.protocol == "simplestreams") return "none";
    return "tls";
}

} // namespace lodge::cli
