// Bandwidth limits of a nic (LXD's limits.ingress and limits.egress), set
// with iproute2's tc on the host side of a veth pair, out of the guest's
// reach: traffic into the instance leaves the host side (an htb class
// there); traffic out of it arrives there and is redirected to an ifb
// device of its own that shapes it the same way (LXD polices it instead,
// but kernels without act_police, like ours, cannot).
#pragma once

#include <string>

namespace lodge::network {

// Limits the host-side interface `host_name`; an empty rate is no limit.
// Rates are as tc and LXD write them ("100Mbit"; the config schema checks
// them). Error(500) with tc's message when tc refuses.
void limit_traffic(const std::string& host_name, const std::string& ingress, const std::string& egress);

// Removes what limit_traffic made beside the interface (its ifb device);
// no error when there is none.
void remove_traffic_limits(const std::string& host_name);

} // namespace lodge::network
