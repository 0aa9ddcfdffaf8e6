// The namespaces a container lives in, made before its init exists so the
// host can act in them as the host's root (mount sysfs for the container's
// network) before init drops into them. The pid namespace is not among them:
// the kernel gives no handle on a pid namespace before its init exists, so
// init's clone makes it (start.cpp).
#pragma once

#include "common/fd.hpp"
#include "runtime/idmap.hpp"

namespace lodge::runtime {

struct NamespaceSet {
    UniqueFd user; // empty for privileged containers
    UniqueFd net;
    UniqueFd uts;
    UniqueFd ipc;
};

// Makes a user namespace with `map` (unless privileged) owning fresh net,
// uts and ipc namespaces, through a short-lived helper process that is
// gone when this returns. Throws lodge::Error.
NamespaceSet make_namespaces(const IdMap& map, bool privileged);

} // namespace lodge::runtime
