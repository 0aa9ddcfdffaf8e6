#include "runtime/netif.hpp"

#include "common/error.hpp"
#include "common/fd.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lodge::runtime {

namespace {

void put_attr(char* buf, size_t& len, unsigned short type, const void* data, size_t size) {
    auto* rta = reinterpret_cast<struct rtattr*>(buf + NLMSG_ALIGN(len));
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    std::memcpy(RTA_DATA(rta), data, size);
    len = NLMSG_ALIGN(len) + RTA_ALIGN(rta->rta_len);
}

} // namespace

void move_interface(const std::string& host_name, int netns_fd, const std::string& new_name) {
    const unsigned index = ::if_nametoindex(host_name.c_str());
    if (index == 0) throw_errno("network interface " + host_name);
    UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!sock) throw_errno("open a netlink socket");

    alignas(struct nlmsghdr) char buf[256] = {};
    auto* nlh = reinterpret_cast<struct nlmsghdr*>(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    auto* ifi = static_cast<struct ifinfomsg*>(NLMSG_DATA(nlh));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = static_cast<int>(index);
    size_t len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    const uint32_t fd = static_cast<uint32_t>(netns_fd);
    put_attr(buf, len, IFLA_NET_NS_FD, &fd, sizeof fd);
    put_attr(buf, len, IFLA_IFNAME, new_name.c_str(), new_name.size() + 1);
    nlh->nlmsg_len = static_cast<uint32_t>(len);

    struct sockaddr_nl kernel = {};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(sock.get(), buf, len, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel) < 0)
        throw_errno("move network interface " + host_name);
    alignas(struct nlmsghdr) char reply[1024];
    ssize_t n = ::recv(sock.get(), reply, sizeof reply, 0);
    if (n < 0) throw_errno("move network interface " + host_name);
    auto* ack = reinterpret_cast<struct nlmsghdr*>(reply);
    if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(struct nlmsgerr))) || ack->nlmsg_type != NLMSG_ERROR)
        throw Error("move network interface " + host_name + ": unexpected netlink reply");
    const int error = static_cast<struct nlmsgerr*>(NLMSG_DATA(ack))->error;
    if (error != 0)
        throw SystemError("move network interface " + host_name + " into the container as " + new_name, -error);
}

void loopback_up() {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("open a socket for the loopback interface");
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("read the loopback interface's flags");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("bring the loopback interface up");
}

} // namespace lodge::runtime
