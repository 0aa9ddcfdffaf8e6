// Links, addresses and routes over rtnetlink (libmnl): bridges, veth pairs
// and macvlans for managed networks and NICs, in any network namespace.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace lodge::network {

struct LinkCounters {
    uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0, rx_errors = 0, tx_errors = 0, rx_dropped = 0,
             tx_dropped = 0;
};

struct LinkInfo {
    std::string name;
    int index = 0;
    std::string kind;   // IFLA_INFO_KIND: "bridge", "veth", "macvlan", "" for physical/lo
    std::string hwaddr; // "aa:bb:..." lower case; "" for loopback
    unsigned mtu = 0;
    bool up = false;   // IFF_UP
    std::string state; // "up" when IFF_UP, else "down" (LXD's state field)
    std::string type;  // "loopback", "broadcast", "point-to-point"
    int master = 0;    // IFLA_MASTER index, 0 when none
    LinkCounters counters;
};

struct AddressInfo {
    std::string interface;
    std::string family; // "inet" or "inet6"
    std::string address;
    unsigned prefix = 0;
    std::string scope; // "global", "link", "local" (host scope shows as "local",
                       // as in LXD)
};

struct RouteInfo {
    std::string family;
    std::string destination; // network address; "0.0.0.0" / "::" with prefix 0
                             // for the default route
    unsigned prefix = 0;
    std::string interface;
};

// One rtnetlink socket. Its network namespace is the one it was opened in.
class Netlink {
public:
    Netlink(); // in the calling thread's netns
    // Opened in another netns (a short-lived thread setns()es; the calling
    // thread never changes namespace).
    static Netlink in_namespace(int netns_fd);
    static Netlink in_namespace_of(pid_t pid); // /proc/PID/ns/net

    std::optional<LinkInfo> link(const std::string& name);
    std::vector<LinkInfo> links();
    std::vector<AddressInfo> addresses();
    // The same, naming interfaces from a links() dump the caller has already.
    std::vector<AddressInfo> addresses(const std::vector<LinkInfo>& links);
    // "inet"/"inet6"; the main table's unicast routes (no local/broadcast).
    std::vector<RouteInfo> routes(const std::string& family);
    // mtu 0 / hwaddr "" = kernel default; Error 409 if the name exists.
    void create_bridge(const std::string& name, unsigned mtu, const std::string& hwaddr);
    // A veth pair, both ends in this namespace, both down; peer_hwaddr "" =
    // random.
    // An intermediate functional block device (traffic redirected to it can be
    // shaped as it leaves): down, no addresses.
    void create_ifb(const std::string& name);
    void create_veth(const std::string& name, const std::string& peer, const std::string& peer_hwaddr, unsigned mtu);
    void create_macvlan(const std::string& name, const std::string& parent, const std::string& mode,
                        const std::string& hwaddr, unsigned mtu);
    void set_master(const std::string& name,
                    const std::string& master); // "" = no master
    void set_up(const std::string& name, bool up);
    void set_mtu(const std::string& name, unsigned mtu);
    void set_hwaddr(const std::string& name, const std::string& hwaddr);
    // IPv4 or IPv6 by the address's form; an address already there is fine.
    void add_address(const std::string& name, const std::string& address, unsigned prefix);
    void flush_addresses(const std::string& name);
    bool delete_link(const std::string& name); // false when there was none
    // Moves a link into another netns (fd of /proc/PID/ns/net), renamed to
    // new_name there, in one RTM_NEWLINK.
    void move_to_namespace(const std::string& name, int netns_fd, const std::string& new_name);

private:
    struct SocketCloser {
        void operator()(mnl_socket* s) const noexcept;
    };
    using Handler = std::function<void(const nlmsghdr*)>;

    // Sends one request and reads replies until its ACK or dump end; 0 or errno.
    int transact(nlmsghdr* request, const Handler& on_reply = {});
    int index_of(const std::string& name);
    void modify_link(const std::string& name, const std::string& what,
                     const std::function<void(nlmsghdr*)>& add_attributes, unsigned change = 0, unsigned flags = 0);

    std::unique_ptr<mnl_socket, SocketCloser> socket_;
    unsigned portid_ = 0;
    unsigned seq_ = 0;
};

// net.ipv4.ip_forward / net.ipv6.conf.all.forwarding = 1 in the calling
// thread's netns (the sysctl files under /proc/sys/net belong to the
// opener's netns).
void enable_forwarding(bool ipv4, bool ipv6);

} // namespace lodge::network
