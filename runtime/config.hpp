// What a container is made of: everything the monitor needs to create it and
// everything exec needs to enter it the same way. Stored as JSON in the
// container's run directory.
#pragma once

#include "runtime/cgroup.hpp"
#include "runtime/idmap.hpp"
#include "runtime/security.hpp"

#include <string>
#include <vector>

namespace lodge::runtime {

// A host directory mounted into the container (LXD's disk devices, e.g. a
// custom storage volume), idmapped like the root filesystem.
struct Mount {
    std::string source; // absolute host path of a directory
    std::string target; // absolute path inside the container; made when missing
    bool readonly = false;
    // Idmapped with the container's user namespace (LXD's shift), so host
    // uid N shows as N inside. false: a plain bind, seen through the id
    // map (host uid N shows as whatever container id maps to N).
    bool shift = true;
};

// A device node made for the container (LXD's unix-char and unix-block
// devices). The host makes the node (an unprivileged container can't) and
// binds it in at `path`; the device cgroup allows it (rwm).
struct DeviceNode {
    std::string path;  // absolute path inside the container, any directory; made when missing
    char type = 'c';   // 'c' (character) or 'b' (block)
    uint32_t major = 0;
    uint32_t minor = 0;
    uint32_t uid = 0;  // owner inside the container (mapped through the id map)
    uint32_t gid = 0;
    uint32_t mode = 0660; // permission bits only

    // Throws lodge::Error(400) naming the node for invalid values.
    void validate() const;
};

// A network interface the starter made in its own network namespace (one
// end of a veth pair, a macvlan), moved into the container's at start under
// its name there. The runtime only moves it; what it is connected to is the
// starter's business.
struct NetInterface {
    std::string host; // its name in the starter's namespace (gone from there after the move)
    std::string name; // its name inside the container, e.g. eth0
};

struct ContainerConfig {
    std::string name;     // also the hostname
    std::string rootfs;   // host path of the root filesystem
    std::vector<std::string> init = {"/sbin/init"};
    std::vector<std::string> env; // extra KEY=VALUE for init
    int halt_signal = 0;          // 0: SIGRTMIN+3 when init is systemd, else SIGPWR
    bool privileged = false;      // no user namespace (explicit opt-in only)
    IdMap idmap;                  // filled from /etc/subuid when empty
    Limits limits;
    SecurityPolicy security = SecurityPolicy::defaults();
    size_t console_log_bytes = 128 * 1024; // ring buffer of console output
    std::vector<Mount> mounts;
    std::vector<DeviceNode> devices;
    std::vector<NetInterface> interfaces;

    // Throws lodge::Error(400) naming the field for invalid values.
    void validate() const;
};

void to_json(nlohmann::json& j, const ContainerConfig& c);
void from_json(const nlohmann::json& j, ContainerConfig& c);
void to_json(nlohmann::json& j, const DeviceNode& d);
void from_json(const nlohmann::json& j, DeviceNode& d);

// A valid container name: what LXD accepts (letters, digits and dashes, not
// starting with a digit or dash, at most 63 characters).
bool valid_container_name(const std::string& name);

// A name the kernel takes for a network interface (1 to 15 characters, no
// slash, colon or white space, not "." or "..").
bool valid_interface_name(const std::string& name);

// Signal by name ("SIGRTMIN+3", "RTMIN+3", "SIGUSR1", "10"); -1 if unknown.
int signal_from_name(const std::string& name);

// A size as admins write it: "512MiB", "2GB", "1G", "1048576".
// Error(400) for anything else.
uint64_t parse_size(const std::string& s);

// Where running containers keep their sockets and state: LODGE_RUN_DIR, else
// /run/lodge.
std::string default_run_dir();

} // namespace lodge::runtime
