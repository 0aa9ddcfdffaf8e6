#!/bin/sh
# Runs a command (LXD) with a /sys of its own network namespace, as
# `ip netns exec` gives one, but with the host's cgroup hierarchies kept in
# place: LXD finds its bridges under /sys/class/net. Started by
# `unshare -n -m --propagation private`, so the mounts are its alone.
set -e
cg=$(mktemp -d /run/lodge-bench-cgroup.XXXXXX)
mount --rbind /sys/fs/cgroup "$cg"
mount -t sysfs sysfs /sys
mount --move "$cg" /sys/fs/cgroup
rmdir "$cg"
exec "$@"
