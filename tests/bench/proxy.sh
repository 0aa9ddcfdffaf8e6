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
ip netns exec "$ns_host" "$net" server 9000 >>"$log" 2>&1 &
pids+=($!)
ip netns exec "$ns_inst" "$net" server 9000 >>"$log" 2>&1 &
inst_pid=$!
pids+=("$inst_pid")
# The plainest relay (bench-net's read/write threads) beside the proxy, as a
# reference for what any user-space relay costs on this machine.
ip netns exec "$ns_host" "$net" relay 9002 9000 >>"$log" 2>&1 &
pids+=($!)
ip netns exec "$ns_host" "$proxy_bin" "$inst_pid" tcp:127.0.0.1:9001 tcp:127.0.0.1:9000 3>"$tmp/status" 2>>"$log" &
proxy_pid=$!
pids+=("$proxy_pid")
for _ in $(seq 1 100); do grep -q . "$tmp/status" 2>/dev/null && break; sleep 0.05; done
grep -q '^ok' "$tmp/status" || die "lodge-proxy did not start: $(cat "$tmp/status")"
in_host "$net" lat 9000 1 >/dev/null || die "the direct server does not answer"

port_of() { case $1 in direct) echo 9000 ;; proxy) echo 9001 ;; relay) echo 9002 ;; esac; }
# CPU time (clock ticks, user + system) lodge-proxy has used so far; it
# idles while the direct side runs.
proxy_ticks() { awk '{ print $14 + $15 }' "/proc/$proxy_pid/stat"; }
[ "$(cat "/proc/$proxy_pid/comm")" = lodge-proxy ] || die "pid $proxy_pid is not lodge-proxy"
[ "$(cut -d" " -f2 "$tmp/status")" = "$proxy_pid" ] || die "lodge-proxy reported another pid than $proxy_pid"
hz=$(getconf CLK_TCK)

# Throughput: one run per side in turn, alternating which goes first.
note "throughput: $TPUT_REPS x $MIB MiB per side"
t0=$(proxy_ticks)
for i in $(seq 1 "$TPUT_REPS"); do
  order=("direct proxy relay" "proxy relay direct" "relay direct proxy")
  for side in ${order[$((i % 3))]}; do
    in_host "$net" tput "$(port_of "$side")" "$MIB" >>"$tmp/tput.$side" 2>>"$log" || die "throughput run failed ($side)"
  done
done

# Latency: blocks of round trips, alternating.
block=$(((LAT_REPS + 9) / 10))
t1=$(proxy_ticks)
note "latency: $LAT_REPS connect + 1-byte echo round trips per side"
for i in $(seq 1 10); do
  for side in direct proxy relay; do
    in_host "$net" lat "$(port_of "$side")" "$block" >>"$tmp/lat.$side" 2>>"$log" || die "latency run failed ($side)"
  done
done
t2=$(proxy_ticks)

row() { printf '%-30s %-6s %-26s %-26s %-26s %-12s %s\n' "$@"; }
echo "lodge-proxy vs a direct loopback connection and a plain relay; median [min-max]; kernel $(uname -r), $(nproc) cpus"
row metric unit direct lodge-proxy plain-relay proxy/direct proxy/relay
row "throughput ($MIB MiB, 1 conn)" MiB/s "$(figure "$tmp/tput.direct" 1)" "$(figure "$tmp/tput.proxy" 1)" \
  "$(figure "$tmp/tput.relay" 1)" "$(ratio "$tmp/tput.proxy" "$tmp/tput.direct")" "$(ratio "$tmp/tput.proxy" "$tmp/tput.relay")"
row "connect + 1-byte echo" us "$(figure "$tmp/lat.direct" 1000)" "$(figure "$tmp/lat.proxy" 1000)" \
  "$(figure "$tmp/lat.relay" 1000)" "$(ratio "$tmp/lat.proxy" "$tmp/lat.direct")" "$(ratio "$tmp/lat.proxy" "$tmp/lat.relay")"
gib=$(awk -v m="$MIB" -v r="$TPUT_REPS" 'BEGIN { print m * r / 1024 }')
row "lodge-proxy cpu per GiB" ms - "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v g="$gib" 'BEGIN { printf "%.0f", t / hz * 1000 / g }')" - - -
row "lodge-proxy cpu per conn" us - "$(awk -v t=$((t2 - t1)) -v hz="$hz" -v n=$((block * 10)) 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')" - - -
echo "throughput: client -> server, counted by the server; a ratio above 1 is faster. latency: a new connection per round trip; a ratio below 1 is faster."
echo "plain-relay: bench-net's read/write relay in the clients' namespace (two loopback TCP hops like the proxy's, no namespace crossing)."
echo "cpu: lodge-proxy's user + system time (/proc/PID/stat, $((1000 / hz)) ms resolution) over the throughput runs and over the round trips."
