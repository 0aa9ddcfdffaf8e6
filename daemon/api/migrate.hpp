// POST /1.0/instances with X-Lodge-Migrate: `lodge migrate` streams a
// machine's root filesystem as a backup tarball; it becomes an instance
// with the fixups of a VM disk import (images/vm/fixups.hpp).
#pragma once

#include "daemon/http/message.hpp"

#include <cstdint>

namespace lodge::daemon {

class Daemon;

api::Response import_migrated_instance(Daemon& daemon, Request& request, std::int64_t project_id);

} // namespace lodge::daemon
