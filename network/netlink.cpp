// rtnetlink requests over libmnl (see netlink.hpp). Every change is sent
// with NLM_F_ACK so the kernel's answer becomes an Error naming the link.
#include "network/netlink.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/file.hpp"
#include "network/address.hpp"

namespace lodge::network {

namespace {

// Big enough for one datagram of a dump (libmnl's MNL_SOCKET_DUMP_SIZE).
constexpr size_t receive_buffer_size = 32768;
constexpr size_t request_buffer_size = 4096;

[[noreturn]] void fail(int err, const std::string& what) { throw SystemError(what, err); }

std::string format_hwaddr(const uint8_t* p, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        char b[4];
        std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", p[i]);
        out += b;
    }
    return out;
}

std::vector<uint8_t> parse_hwaddr(const std::string& s) {
    if (!valid_mac(s)) throw Error(400, "invalid MAC address \"" + s + "\"");
    std::vector<uint8_t> out;
    for (size_t i = 0; i < s.size(); i += 3)
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    return out;
}

void check_name(const std::string& name) {
    if (!valid_interface_name(name)) throw Error(400, "invalid interface name \"" + name + "\"");
}

std::string address_text(int family, const void* p) {
    char buf[INET6_ADDRSTRLEN];
    return ::inet_ntop(family, p, buf, sizeof buf) ? buf : "";
}

std::string scope_name(unsigned scope) {
    switch (scope) {
    case RT_SCOPE_UNIVERSE:
        return "global";
    case RT_SCOPE_SITE:
        return "site";
    case RT_SCOPE_LINK:
        return "link";
    case RT_SCOPE_HOST:
        return "local";
    default:
        return std::to_string(scope);
    }
}

// Collects a message's attributes of one level by type; mnl_attr_parse
// wants a C callback.
struct Attributes {
    std::map<uint16_t, const nlattr*> by_type;
    const nlattr* get(uint16_t type) const {
        auto it = by_type.find(type);
        return it == by_type.end() ? nullptr : it->second;
    }
    static int collect(const nlattr* attr, void* data) {
        static_cast<Attributes*>(data)->by_type[mnl_attr_get_type(attr)] = attr;
        return MNL_CB_OK;
    }
};

Attributes parse_attributes(const nlmsghdr* nlh, size_t header_size) {
    Attributes a;
    mnl_attr_parse(nlh, static_cast<unsigned>(header_size), Attributes::collect, &a);
    return a;
}

Attributes parse_nested(const nlattr* nest) {
    Attributes a;
    mnl_attr_parse_nested(nest, Attributes::collect, &a);
    return a;
}

std::string string_attribute(const nlattr* a) { return a ? mnl_attr_get_str(a) : ""; }

LinkInfo parse_link(const nlmsghdr* nlh) {
    auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    auto attrs = parse_attributes(nlh, sizeof(ifinfomsg));
    LinkInfo info;
    info.index = ifi->ifi_index;
    info.name = string_attribute(attrs.get(IFLA_IFNAME));
    info.up = ifi->ifi_flags & IFF_UP;
    info.state = info.up ? "up" : "down";
    if (ifi->ifi_flags & IFF_LOOPBACK)
        info.type = "loopback";
    else if (ifi->ifi_flags & IFF_POINTOPOINT)
        info.type = "point-to-point";
    else
        info.type = "broadcast";
    if (auto* a = attrs.get(IFLA_ADDRESS); a && info.type != "loopback")
        info.hwaddr = format_hwaddr(static_cast<const uint8_t*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a));
    if (auto* a = attrs.get(IFLA_MTU)) info.mtu = mnl_attr_get_u32(a);
    if (auto* a = attrs.get(IFLA_MASTER)) info.master = static_cast<int>(mnl_attr_get_u32(a));
    if (auto* a = attrs.get(IFLA_LINKINFO)) info.kind = string_attribute(parse_nested(a).get(IFLA_INFO_KIND));
    if (auto* a = attrs.get(IFLA_STATS64); a && mnl_attr_get_payload_len(a) >= sizeof(rtnl_link_stats64)) {
        rtnl_link_stats64 s;
        std::memcpy(&s, mnl_attr_get_payload(a),
                    sizeof s); // attribute payloads are only 4-byte aligned
        info.counters = {s.rx_bytes,  s.tx_bytes,  s.rx_packets, s.tx_packets,
                         s.rx_errors, s.tx_errors, s.rx_dropped, s.tx_dropped};
    }
    return info;
}

int dispatch(const nlmsghdr* nlh, void* data) {
    auto* handler = static_cast<const std::function<void(const nlmsghdr*)>*>(data);
    // Nothing may unwind through libmnl's C frames.
    try {
        if (*handler) (*handler)(nlh);
    } catch (...) {
        errno = ENOMEM;
        return MNL_CB_ERROR;
    }
    return MNL_CB_OK;
}

// A request in a stack buffer with its header and family header in place.
template <typename FamilyHeader> struct Request {
    alignas(nlmsghdr) char buffer[request_buffer_size];
    nlmsghdr* nlh;
    FamilyHeader* header;

    Request(uint16_t type, uint16_t flags) {
        std::memset(buffer, 0, sizeof buffer);
        nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        header = static_cast<FamilyHeader*>(mnl_nlmsg_put_extra_header(nlh, sizeof(FamilyHeader)));
    }
};

void put_name(nlmsghdr* nlh, uint16_t type, const std::string& name) { mnl_attr_put_strz(nlh, type, name.c_str()); }

void put_hwaddr(nlmsghdr* nlh, const std::string& hwaddr) {
    auto bytes = parse_hwaddr(hwaddr);
    mnl_attr_put(nlh, IFLA_ADDRESS, bytes.size(), bytes.data());
}

} // namespace

void Netlink::SocketCloser::operator()(mnl_socket* s) const noexcept { mnl_socket_close(s); }

Netlink::Netlink() {
    socket_.reset(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!socket_) throw_errno("open rtnetlink socket");
    if (mnl_socket_bind(socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw_errno("bind rtnetlink socket");
    // Extended ACKs carry the kernel's reason; harmless where unsupported.
    int one = 1;
    mnl_socket_setsockopt(socket_.get(), NETLINK_EXT_ACK, &one, sizeof one);
    portid_ = mnl_socket_get_portid(socket_.get());
    seq_ = static_cast<unsigned>(::time(nullptr));
}

Netlink Netlink::in_namespace(int netns_fd) {
    // setns() on a throwaway thread: lodged's other threads keep their netns,
    // and the socket stays bound to the namespace it was opened in.
    std::optional<Netlink> result;
    std::exception_ptr error;
    std::thread([&] {
        try {
            if (::setns(netns_fd, CLONE_NEWNET) < 0) throw_errno("enter network namespace");
            result.emplace();
        } catch (...) {
            error = std::current_exception();
        }
    }).join();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
}

Netlink Netlink::in_namespace_of(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    return in_namespace(fd.get());
}

int Netlink::transact(nlmsghdr* request, const Handler& on_reply) {
    unsigned seq = request->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0) return errno;
    std::vector<char> buffer(receive_buffer_size);
    while (true) {
        ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
        if (n < 0) return errno;
        // A datagram answering an earlier request that failed halfway (another seq) is left over: skip it.
        auto* first = reinterpret_cast<const nlmsghdr*>(buffer.data());
        if (mnl_nlmsg_ok(first, static_cast<int>(n)) && first->nlmsg_seq != seq) continue;
        int r =
            mnl_cb_run(buffer.data(), static_cast<size_t>(n), seq, portid_, dispatch, const_cast<Handler*>(&on_reply));
        if (r < 0) return errno;
        if (r == MNL_CB_STOP) return 0; // the ACK, or the end of a dump
    }
}

std::optional<LinkInfo> Netlink::link(const std::string& name) {
    check_name(name);
    Request<ifinfomsg> req(RTM_GETLINK, NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    std::optional<LinkInfo> out;
    int err = transact(req.nlh, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) out = parse_link(nlh);
    });
    if (err == ENODEV) return std::nullopt;
    if (err) fail(err, "look up interface " + name);
    return out;
}

std::vector<LinkInfo> Netlink::links() {
    Request<ifinfomsg> req(RTM_GETLINK, NLM_F_DUMP);
    std::vector<LinkInfo> out;
    int err = transact(req.nlh, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) out.push_back(parse_link(nlh));
    });
    if (err) fail(err, "list interfaces");
    return out;
}

int Netlink::index_of(const std::string& name) {
    auto l = link(name);
    if (!l) throw Error(404, "interface " + name + " not found");
    return l->index;
}

std::vector<AddressInfo> Netlink::addresses() { return addresses(links()); }

std::vector<AddressInfo> Netlink::addresses(const std::vector<LinkInfo>& known) {
    std::map<int, std::string> names;
    for (auto& l : known) names[l.index] = l.name;
    Request<ifaddrmsg> req(RTM_GETADDR, NLM_F_DUMP);
    std::vector<AddressInfo> out;
    int err = transact(req.nlh, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWADDR) return;
        auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return;
        auto attrs = parse_attributes(nlh, sizeof(ifaddrmsg));
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
        // point-to-point links.
        const nlattr* a = attrs.get(IFA_LOCAL) ? attrs.get(IFA_LOCAL) : attrs.get(IFA_ADDRESS);
        if (!a) return;
        out.push_back({names[static_cast<int>(ifa->ifa_index)], ifa->ifa_family == AF_INET ? "inet" : "inet6",
                       address_text(ifa->ifa_family, mnl_attr_get_payload(a)), ifa->ifa_prefixlen,
                       scope_name(ifa->ifa_scope)});
    });
    if (err) fail(err, "list addresses");
    return out;
}

std::vector<RouteInfo> Netlink::routes(const std::string& family) {
    if (family != "inet" && family != "inet6") throw Error(400, "invalid address family \"" + family + "\"");
    int af = family == "inet" ? AF_INET : AF_INET6;
    std::map<int, std::string> names;
    for (auto& l : links()) names[l.index] = l.name;
    Request<rtmsg> req(RTM_GETROUTE, NLM_F_DUMP);
    req.header->rtm_family = static_cast<uint8_t>(af);
    std::vector<RouteInfo> out;
    int err = transact(req.nlh, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWROUTE) return;
        auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
        auto attrs = parse_attributes(nlh, sizeof(rtmsg));
        unsigned table = rtm->rtm_table;
        if (auto* t = attrs.get(RTA_TABLE)) table = mnl_attr_get_u32(t); // tables above 255 live only here
        if (rtm->rtm_family != af || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST) return;
        RouteInfo r{family, "", rtm->rtm_dst_len, ""};
        if (auto* d = attrs.get(RTA_DST)) {
            r.destination = address_text(af, mnl_attr_get_payload(d));
        } else {
            r.destination = af == AF_INET ? "0.0.0.0" : "::";
        }
        if (auto* o = attrs.get(RTA_OIF)) r.interface = names[static_cast<int>(mnl_attr_get_u32(o))];
        out.push_back(std::move(r));
    });
    if (err) fail(err, "list " + family + " routes");
    return out;
}

void Netlink::create_bridge(const std::string& name, unsigned mtu, const std::string& hwaddr) {
    check_name(name);
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    if (mtu) mnl_attr_put_u32(req.nlh, IFLA_MTU, mtu);
    if (!hwaddr.empty()) put_hwaddr(req.nlh, hwaddr);
    nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(req.nlh, info);
    int err = transact(req.nlh);
    if (err == EEXIST) throw Error(409, "interface " + name + " already exists");
    if (err) fail(err, "create bridge " + name);
}

void Netlink::create_ifb(const std::string& name) {
    check_name(name);
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh, IFLA_INFO_KIND, "ifb");
    mnl_attr_nest_end(req.nlh, info);
    int err = transact(req.nlh);
    if (err == EEXIST) throw Error(409, "interface " + name + " already exists");
    if (err) fail(err, "create ifb device " + name);
}

void Netlink::create_veth(const std::string& name, const std::string& peer, const std::string& peer_hwaddr,
                          unsigned mtu) {
    check_name(name);
    check_name(peer);
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    if (mtu) mnl_attr_put_u32(req.nlh, IFLA_MTU, mtu);
    nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(req.nlh, IFLA_INFO_DATA);
    nlattr* peer_nest = mnl_attr_nest_start(req.nlh, VETH_INFO_PEER);
    // The peer is described like a whole link: its own ifinfomsg, then its
    // attributes.
    auto* peer_ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(req.nlh));
    req.nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
    std::memset(peer_ifi, 0, sizeof(ifinfomsg));
    put_name(req.nlh, IFLA_IFNAME, peer);
    if (!peer_hwaddr.empty()) put_hwaddr(req.nlh, peer_hwaddr);
    if (mtu) mnl_attr_put_u32(req.nlh, IFLA_MTU, mtu);
    mnl_attr_nest_end(req.nlh, peer_nest);
    mnl_attr_nest_end(req.nlh, data);
    mnl_attr_nest_end(req.nlh, info);
    int err = transact(req.nlh);
    if (err == EEXIST) throw Error(409, "interface " + name + " or " + peer + " already exists");
    if (err) fail(err, "create veth pair " + name + "/" + peer);
}

void Netlink::create_macvlan(const std::string& name, const std::string& parent, const std::string& mode,
                             const std::string& hwaddr, unsigned mtu) {
    static const std::map<std::string, uint32_t> modes = {{"private", MACVLAN_MODE_PRIVATE},
                                                          {"vepa", MACVLAN_MODE_VEPA},
                                                          {"bridge", MACVLAN_MODE_BRIDGE},
                                                          {"passthru", MACVLAN_MODE_PASSTHRU}};
    check_name(name);
    auto m = modes.find(mode);
    if (m == modes.end()) throw Error(400, "invalid macvlan mode \"" + mode + "\"");
    int parent_index = index_of(parent);
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    mnl_attr_put_u32(req.nlh, IFLA_LINK, static_cast<uint32_t>(parent_index));
    if (mtu) mnl_attr_put_u32(req.nlh, IFLA_MTU, mtu);
    if (!hwaddr.empty()) put_hwaddr(req.nlh, hwaddr);
    nlattr* info = mnl_attr_nest_start(req.nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh, IFLA_INFO_KIND, "macvlan");
    nlattr* data = mnl_attr_nest_start(req.nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(req.nlh, IFLA_MACVLAN_MODE, m->second);
    mnl_attr_nest_end(req.nlh, data);
    mnl_attr_nest_end(req.nlh, info);
    int err = transact(req.nlh);
    if (err == EEXIST) throw Error(409, "interface " + name + " already exists");
    if (err) fail(err, "create macvlan " + name + " on " + parent);
}

void Netlink::modify_link(const std::string& name, const std::string& what,
                          const std::function<void(nlmsghdr*)>& add_attributes, unsigned change, unsigned flags) {
    check_name(name);
    // Without NLM_F_CREATE the kernel looks the link up by IFLA_IFNAME and
    // changes it.
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_ACK);
    req.header->ifi_change = change;
    req.header->ifi_flags = flags;
    put_name(req.nlh, IFLA_IFNAME, name);
    if (add_attributes) add_attributes(req.nlh);
    int err = transact(req.nlh);
    if (err == ENODEV) throw Error(404, "interface " + name + " not found");
    if (err) fail(err, what + " of interface " + name);
}

void Netlink::set_master(const std::string& name, const std::string& master) {
    uint32_t master_index = master.empty() ? 0 : static_cast<uint32_t>(index_of(master));
    modify_link(name, master.empty() ? "detach" : "attach to " + master,
                [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MASTER, master_index); });
}

void Netlink::set_up(const std::string& name, bool up) {
    modify_link(name, up ? "bring up" : "bring down", {}, IFF_UP, up ? IFF_UP : 0);
}

void Netlink::set_mtu(const std::string& name, unsigned mtu) {
    modify_link(name, "set MTU " + std::to_string(mtu), [&](nlmsghdr* nlh) { mnl_attr_put_u32(nlh, IFLA_MTU, mtu); });
}

void Netlink::set_hwaddr(const std::string& name, const std::string& hwaddr) {
    auto bytes = parse_hwaddr(hwaddr);
    modify_link(name, "set MAC address " + hwaddr,
                [&](nlmsghdr* nlh) { mnl_attr_put(nlh, IFLA_ADDRESS, bytes.size(), bytes.data()); });
}

void Netlink::add_address(const std::string& name, const std::string& address, unsigned prefix) {
    std::string what = "add address " + address + "/" + std::to_string(prefix) + " to " + name;
    int index = index_of(name);
    Request<ifaddrmsg> req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    req.header->ifa_index = static_cast<uint32_t>(index);
    req.header->ifa_prefixlen = static_cast<uint8_t>(prefix);
    if (auto v4 = parse_ipv4(address)) {
        if (prefix > 32) throw Error(400, "invalid prefix length " + std::to_string(prefix) + " for " + address);
        req.header->ifa_family = AF_INET;
        uint32_t a = htonl(*v4);
        mnl_attr_put_u32(req.nlh, IFA_LOCAL, a);
        mnl_attr_put_u32(req.nlh, IFA_ADDRESS, a);
        // A broadcast address as `ip addr add ... brd +` sets it.
        uint32_t broadcast = Ipv4Net{*v4, static_cast<uint8_t>(prefix)}.broadcast();
        if (prefix < 31) mnl_attr_put_u32(req.nlh, IFA_BROADCAST, htonl(broadcast));
    } else {
        in6_addr a6;
        if (::inet_pton(AF_INET6, address.c_str(), &a6) != 1)
            throw Error(400, "invalid IP address \"" + address + "\"");
        if (prefix > 128) throw Error(400, "invalid prefix length " + std::to_string(prefix) + " for " + address);
        req.header->ifa_family = AF_INET6;
        mnl_attr_put(req.nlh, IFA_LOCAL, sizeof a6, &a6);
        mnl_attr_put(req.nlh, IFA_ADDRESS, sizeof a6, &a6);
    }
    int err = transact(req.nlh);
    if (err == EEXIST) return;
    if (err == ENODEV) throw Error(404, "interface " + name + " not found");
    if (err) fail(err, what);
}

void Netlink::flush_addresses(const std::string& name) {
    int index = index_of(name);
    struct Found {
        int family;
        unsigned prefix;
        std::vector<uint8_t> address;
    };
    std::vector<Found> found;
    Request<ifaddrmsg> dump(RTM_GETADDR, NLM_F_DUMP);
    int err = transact(dump.nlh, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWADDR) return;
        auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (static_cast<int>(ifa->ifa_index) != index) return;
        auto attrs = parse_attributes(nlh, sizeof(ifaddrmsg));
        const nlattr* a = attrs.get(IFA_LOCAL) ? attrs.get(IFA_LOCAL) : attrs.get(IFA_ADDRESS);
        if (!a) return;
        auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
        found.push_back({ifa->ifa_family, ifa->ifa_prefixlen, {p, p + mnl_attr_get_payload_len(a)}});
    });
    if (err) fail(err, "list addresses of " + name);
    for (const auto& f : found) {
        Request<ifaddrmsg> req(RTM_DELADDR, NLM_F_ACK);
        req.header->ifa_family = static_cast<uint8_t>(f.family);
        req.header->ifa_prefixlen = static_cast<uint8_t>(f.prefix);
        req.header->ifa_index = static_cast<uint32_t>(index);
        mnl_attr_put(req.nlh, IFA_LOCAL, f.address.size(), f.address.data());
        err = transact(req.nlh);
        // Removing a primary IPv4 address takes its secondaries with it.
        if (err && err != EADDRNOTAVAIL)
            fail(err, "remove address " + address_text(f.family, f.address.data()) + " from " + name);
    }
}

bool Netlink::delete_link(const std::string& name) {
    check_name(name);
    Request<ifinfomsg> req(RTM_DELLINK, NLM_F_ACK);
    put_name(req.nlh, IFLA_IFNAME, name);
    int err = transact(req.nlh);
    if (err == ENODEV) return false;
    if (err) fail(err, "delete interface " + name);
    return true;
}

void Netlink::move_to_namespace(const std::string& name, int netns_fd, const std::string& new_name) {
    check_name(new_name);
    int index = index_of(name);
    // The kernel moves the link first and renames it afterwards: with the
    // name taken in the target, the link would end up moved under its old
    // name and the request failed. Refuse before anything moves.
    if (in_namespace(netns_fd).link(new_name))
        throw Error(409, "interface " + new_name + " already exists in the target namespace");
    // By index: IFLA_IFNAME here is the name the link gets in the target namespace.
    Request<ifinfomsg> req(RTM_NEWLINK, NLM_F_ACK);
    req.header->ifi_index = index;
    mnl_attr_put_u32(req.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
    put_name(req.nlh, IFLA_IFNAME, new_name);
    int err = transact(req.nlh);
    if (err == EEXIST) throw Error(409, "interface " + new_name + " already exists in the target namespace");
    if (err) fail(err, "move interface " + name + " into another namespace as " + new_name);
}

void enable_forwarding(bool ipv4, bool ipv6) {
    if (ipv4) write_file("/proc/sys/net/ipv4/ip_forward", "1");
    if (ipv6) write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
}

} // namespace lodge::network
