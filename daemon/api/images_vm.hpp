// POST /1.0/images with a VM disk as the body (X-Lodge-VM-Disk): the disk
// becomes a container image (images/vm/), or with dry-run only its plan.
// API extension lodge_image_import_vm.
#pragma once

#include "daemon/http/message.hpp"

namespace lodge::daemon {

class Daemon;

bool is_vm_disk_upload(const Request& request);

// Headers: X-Lodge-VM-Disk (the disk's file name, percent-encoded),
// X-Lodge-VM-Options (form-encoded: dry-run, force, keep-network,
// keep-machine-id, alias (repeatable)), X-LXD-properties, X-LXD-public.
// The operation's metadata carries "vm_import_progress" ("copying: 40%")
// while it runs; at the end "plan" (the import plan) and, unless a dry run,
// LXD's "fingerprint" and "size".
api::Response import_vm_disk(Daemon& daemon, Request& request);

} // namespace lodge::daemon
