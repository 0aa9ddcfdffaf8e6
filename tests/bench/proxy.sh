#!/usr/bin/env bash
# Benchmarks lodge-proxy (the proxy devices' forwarder) against a direct
# connection: throughput of one TCP connection and connect + 1-byte echo
# round trips, on loopback in two network namespaces the script makes (a
# "host" where the clients and the proxy's listener are, an "instance" the
# proxy connects into). Run by hand, as root, never by CI:
#   scripts/build lodge-proxy && tests/bench/proxy.sh
# See tests/bench/README.md for what it prints and the knobs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/common.sh
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)

MIB=${BENCH_PROXY_MIB:-1024}       # MiB per throughput run
TPUT_REPS=${BENCH_PROXY_REPS:-5}   # throughput runs per side
LAT_REPS=${BENCH_PROXY_LAT:-2000}  # round trips per side (in blocks of LAT_REPS/10)
LODGE_BUILD=${LODGE_BUILD:-$repo/build}
proxy_bin=$LODGE_BUILD/bin/lodge-proxy

die() { echo "proxy-bench: $*" >&2; exit 1; }
note() { echo "proxy-bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces)"
for v in MIB TPUT_REPS LAT_REPS; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, not '${!v}'"; done
for tool in cc ip; do command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup and scripts/setup-bench"; done
[ -x "$proxy_bin" ] || die "no $proxy_bin: scripts/build lodge-proxy (or set LODGE_BUILD)"

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-proxy.XXXXXX")
log=$tmp/log
: >"$log"
ns_host=lodge-bench-host-$$
ns_inst=lodge-bench-inst-$$
pids=()
cleanup() {
  local rc=$? p
  set +e
  trap - INT TERM HUP
  report_end "$rc" "namespaces, processes and scratch directory"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$ns_host" 2>/dev/null
  ip netns del "$ns_inst" 2>/dev/null
  rm -rf "$tmp"
  exit "$rc"
}
set_cleanup_traps

cc -O2 -pthread -o "$tmp/bench-net" "$here/bench-net.c" 2>>"$log" || die "cannot compile bench-net.c"
net=$tmp/bench-net
ip netns add "$ns_host" || die "cannot create network namespace $ns_host"
ip netns add "$ns_inst" || die "cannot create network namespace $ns_inst"
ip -n "$ns_host" link set lo up
ip -n "$ns_inst" link set lo up
in_host() { ip netns exec "$ns_host" "$@"; }

# The same server on port 9000 in both: the direct side's beside the
# clients, the proxied side's in the "instance", whose pid the proxy follows.
in_host "$net" server 9000 >>"$log" 2>&1 &
pids+=($!)
ip netns exec "$ns_inst" "$net" server 9000 >>"$log" 2>&1 &
inst_pid=$!
pids+=("$inst_pid")
in_host "$proxy_bin" "$inst_pid" tcp:127.0.0.1:9001 tcp:127.0.0.1:9000 3>"$tmp/status" 2>>"$log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q . "$tmp/status" 2>/dev/null && break; sleep 0.05; done
grep -q '^ok' "$tmp/status" || die "lodge-proxy did not start: $(cat "$tmp/status")"
in_host "$net" lat 9000 1 >/dev/null || die "the direct server does not answer"

port_of() { [ "$1" = direct ] && echo 9000 || echo 9001; }

# Throughput: one run per side in turn, alternating which goes first.
note "throughput: $TPUT_REPS x $MIB MiB per side"
for i in $(seq 1 "$TPUT_REPS"); do
  order="direct proxy"
  [ $((i % 2)) -eq 0 ] && order="proxy direct"
  for side in $order; do
    in_host "$net" tput "$(port_of "$side")" "$MIB" >>"$tmp/tput.$side" 2>>"$log" || die "throughput run failed ($side)"
  done
done

# Latency: blocks of round trips, alternating.
block=$(((LAT_REPS + 9) / 10))
note "latency: $LAT_REPS connect + 1-byte echo round trips per side"
for i in $(seq 1 10); do
  for side in direct proxy; do
    in_host "$net" lat "$(port_of "$side")" "$block" >>"$tmp/lat.$side" 2>>"$log" || die "latency run failed ($side)"
  done
done

echo "lodge-proxy vs a direct loopback connection; median [min-max]; kernel $(uname -r), $(nproc) cpus"
printf '%-28s %-6s %-28s %-28s %s\n' metric unit direct lodge-proxy proxy/direct
printf '%-28s %-6s %-28s %-28s %s\n' "throughput ($MIB MiB, 1 conn)" MiB/s \
  "$(figure "$tmp/tput.direct" 1)" "$(figure "$tmp/tput.proxy" 1)" "$(ratio "$tmp/tput.proxy" "$tmp/tput.direct")"
printf '%-28s %-6s %-28s %-28s %s\n' "connect + 1-byte echo" us \
  "$(figure "$tmp/lat.direct" 1000)" "$(figure "$tmp/lat.proxy" 1000)" "$(ratio "$tmp/lat.proxy" "$tmp/lat.direct")"
echo "throughput: client -> server, counted by the server; proxy/direct above 1 is faster. latency: each round trip a new connection; proxy/direct below 1 is faster."
