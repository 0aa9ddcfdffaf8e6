// Managed networks: bridges lodged makes, with their addresses, lodge's
// nftables rules for NAT and forwarding, and one dnsmasq each for DHCP and
// DNS. The database says what should be; converge() makes the host match,
// at every start of lodged and after every change. dnsmasq runs detached
// (it outlives lodged, whose next start adopts it) and is restarted when it
// dies.
#pragma once

#include "api/network.hpp"

#include <sys/types.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lodge::daemon {

class Daemon;

class Networks {
public:
    explicit Networks(Daemon& daemon);
    ~Networks();
    Networks(const Networks&) = delete;
    Networks& operator=(const Networks&) = delete;

    // Every managed network brought to its config (dnsmasq adopted when it
    // still runs as it should), leftovers of deleted ones removed, and the
    // supervision of dnsmasq started. Failures are logged per network.
    void start();
    // lxd init --auto's network: `lodgebr0` with automatic addresses, eth0
    // of the default profile. For a new database only.
    void create_default();

    std::vector<api::Network> list();
    api::Network get(const std::string& name);
    void create(const api::NetworksPost& request);
    // PUT (merge=false) or PATCH (merge=true) of description and config.
    void update(const std::string& name, const std::string& description, const api::ConfigMap& config, bool merge);
    void rename(const std::string& name, const std::string& new_name);
    void remove(const std::string& name);
    api::NetworkState state(const std::string& name);
    std::vector<api::NetworkLease> leases(const std::string& name);

    // The network's files: dnsmasq's leases, hosts and log.
    std::string dir(const std::string& name) const;
    // Whether `name` is a managed network.
    bool managed(const std::string& name);
    // The instance's DHCP host entry (its name, and its address when static)
    // on a managed network; dnsmasq reads it without a restart.
    void set_host(const std::string& network, const std::string& instance, const std::string& hwaddr,
                  const std::string& ipv4);
    void remove_host(const std::string& network, const std::string& instance);
    // A deleted instance's host entries, on every managed network.
    void forget_instance(const std::string& instance);
    // Error(400) unless `ipv4` is a free address of the managed network's subnet.
    void check_static_address(const std::string& network, const std::string& instance, const std::string& ipv4);

private:
    struct Dnsmasq {
        pid_t pid = -1;
        int pidfd = -1;
        std::vector<std::string> argv;
    };

    void converge(const api::Network& network);
    void teardown(const std::string& name);
    // The config with defaults filled and `auto` resolved, checked against
    // the other networks and the host's routes; Error(400) naming the key.
    api::ConfigMap complete_config(const std::string& name, api::ConfigMap config, const api::ConfigMap* before);
    // The network's dnsmasq running with this config: kept, adopted from a
    // previous lodged, or (re)started (daemon/networks/dnsmasq.cpp).
    void ensure_dnsmasq(const std::string& name, const api::ConfigMap& config);
    void run_dnsmasq(const std::string& name, const std::vector<std::string>& argv);
    void stop_dnsmasq(const std::string& name);
    void supervise(std::stop_token stop);
    // SIGHUP: dnsmasq reads its hosts directory again.
    void reload_hosts(const std::string& network);

    Daemon& daemon_;
    std::mutex mutex_; // changes to networks, one at a time; guards dnsmasq_
    std::map<std::string, Dnsmasq> dnsmasq_;
    std::jthread supervisor_;
};

} // namespace lodge::daemon
