#!/usr/bin/env bash
# Benchmarks how soon an instance on a managed bridge has its DHCP address:
# lodged (lodgebr0, its default network) against LXD 5.0.2 (lxdbr0, made
# the way `lxd init --auto` makes it) in the same run, each daemon in a
# network namespace of its own, the same image (the debian-net fixture:
# systemd-networkd asking DHCP on eth0). Run by hand, never by CI:
#   scripts/setup-bench && scripts/build && tests/fixtures/debian-net.sh && tests/bench/network-vs-lxd.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)

REPS=${BENCH_LEASE_REPS:-8}  # fresh instances started per side
KEEP=${BENCH_RESULTS:-}
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
LXD_BIN=${LXD_BIN:-/usr/bin/lxd}
LODGE_TEST_CACHE=${LODGE_TEST_CACHE:-/var/cache/lodge-test}

die() { echo "network-vs-lxd: $*" >&2; exit 1; }
note() { echo "network-vs-lxd: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (both daemons run containers as root)"
[ -x "$LXD_BIN" ] || die "$LXD_BIN not found: run scripts/setup-bench"
for tool in lxc cc unshare; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup-bench"
done
[ -L "$LODGE_TEST_CACHE/debian-net/sbin/init" ] || [ -x "$LODGE_TEST_CACHE/debian-net/sbin/init" ] ||
  die "fixture $LODGE_TEST_CACHE/debian-net missing: run tests/fixtures/debian-net.sh"
[[ $REPS =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] || die "BENCH_LEASE_REPS must be a number of at least 1"
lxd_version=$("$LXD_BIN" --version)

daemon_scratch "${TMPDIR:-/var/tmp}" bench-network
# Both daemons leave their dnsmasq running when they stop (lodged by
# design, LXD on shutdown): each goes once its daemon has, found by the
# scratch directory in its command line.
cleanup() {
  local rc=$?
  set +e
  stop_daemon lodge
  stop_daemon lxd
  local c p
  for c in /proc/[0-9]*/cmdline; do
    p=${c#/proc/}
    p=${p%/cmdline}
    tr '\0' ' ' <"$c" 2>/dev/null | grep -q "^dnsmasq .*$tmp/" && kill "$p"
  done
  (exit "$rc")
  finish_daemon_run "containers, daemons, dnsmasq and files"
}
daemons_init
set_cleanup_traps
compile_bench_tools

note "LXD $lxd_version and lodged on the same machine, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$repo/scripts/pack-image" "$LODGE_TEST_CACHE/debian-net" "$tmp/debian-net.tar.gz" debian 12 "debian-net fixture" \
  >>"$log" 2>&1 || die "cannot pack the debian-net image"

# lodged makes lodgebr0 (automatic subnets, NAT) on its first start and puts
# eth0 on it in the default profile; LXD gets the same from lxd init --auto.
# Each daemon's namespace gets what a host has: loopback up and an uplink
# with a default route (a veth pair whose other end goes nowhere; LXD
# cannot make a bridge in a namespace without a main routing table).
LODGED_ARGS=--verbose
# LXD looks for its bridge under /sys/class/net: its /sys must be its
# namespace's (lodged asks netlink and needs nothing of the kind).
LXD_LAUNCH="unshare -n -m --propagation private $here/netns-sysfs.sh"
give_uplink() {
  local ns=/proc/${pid[$1]}/ns/net
  nsenter --net="$ns" sh -c 'ip link set lo up && ip link add uplink0 type veth peer name uplink1 &&
    ip link set uplink0 up && ip link set uplink1 up && ip addr add 198.51.100.1/24 dev uplink0 &&
    ip route add default via 198.51.100.2' >>"$log" 2>&1 || die "$1: cannot give its namespace an uplink"
}
for side in "${sides[@]}"; do
  start_daemon "$side"
  give_uplink "$side"
  if [ "$side" = lxd ]; then
    cl lxd network create lxdbr0 >>"$log" 2>&1 || die "LXD: cannot create lxdbr0"
    cl lxd network attach-profile lxdbr0 default eth0 >>"$log" 2>&1 || die "LXD: cannot attach lxdbr0"
  fi
  cl "$side" image import "$tmp/debian-net.tar.gz" --alias debian-net >>"$log" 2>&1 ||
    die "$side: cannot import the image"
done

# One untimed warm-up per side (first boot of the image's files, caches),
# then fresh instances, alternating which side goes first.
lease() { # SIDE NAME OUT
  cl "$1" init debian-net "$2" >>"$log" 2>&1 || die "$1: cannot create $2"
  launched[$1]+=" $2"
  "$api" "$(sock "$1")" lease "$2" eth0 >>"$3" 2>>"$log" || die "$1: $2 got no address (see the log)"
  cl "$1" delete -f "$2" >>"$log" 2>&1 || die "$1: cannot delete $2"
  launched[$1]=${launched[$1]/ $2/}
}
for side in "${sides[@]}"; do lease "$side" "${prefix}warm" /dev/null; done
for i in $(seq 1 "$REPS"); do
  order=("${sides[@]}")
  [ $((i % 2)) -eq 0 ] && [ ${#sides[@]} -eq 2 ] && order=(lxd lodge)
  for side in "${order[@]}"; do
    note "$side: instance $i of $REPS"
    lease "$side" "${prefix}$i" "$results/lease.$side"
  done
done
for side in "${sides[@]}"; do
  awk '{ print $1 }' "$results/lease.$side" >"$results/start.$side"
  awk '{ print $2 }' "$results/lease.$side" >"$results/address.$side"
  awk '{ print $1 + $2 }' "$results/lease.$side" >"$results/total.$side"
done

echo
echo "Start to DHCP address, $REPS fresh instances per side, median [min-max] in ms"
printf '%-34s %22s %22s %8s\n' "" lodged "LXD $lxd_version" "ratio"
for row in "start request to RUNNING:start" "RUNNING to an address in the API:address" \
  "start request to an address:total"; do
  label=${row%:*} f=${row##*:}
  printf '%-34s %22s %22s %8s\n' "$label" "$(figure "$results/$f.lodge" 1e6)" "$(figure "$results/$f.lxd" 1e6)" \
    "$(ratio "$results/$f.lodge" "$results/$f.lxd")"
done
