// The kernel side of lodge audit: the running container read from the host
// (runtime/inspect.hpp) against the runtime config its instance's config
// gives now.
#include "daemon/instances/instances.hpp"

namespace lodge::daemon {

std::vector<Finding> Instances::kernel_drift(const InstanceLocation&, const api::Instance&) const {
    return {};
}

} // namespace lodge::daemon
